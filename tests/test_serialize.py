"""Prompt format: round trips, one token per grid cell with the default tokenizer, completion detection."""
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.serialize import is_complete, parse_answer, render, render_answer

grids = st.integers(1, 30).flatmap(lambda w: st.lists(st.lists(st.integers(0, 9), min_size=w, max_size=w), min_size=1, max_size=30))
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60).filter(lambda s: s.strip())


@given(grids)
def test_grid_answer_round_trips(grid):
    assert parse_answer(render_answer(grid, "grid"), "grid") == grid


@settings(max_examples=200)
@given(texts)
def test_text_answer_round_trips(text):
    assert parse_answer(render_answer(text, "text"), "text") == text.strip() or parse_answer(render_answer(text, "text"), "text") == text


def test_prompt_holds_every_demo_and_ends_at_the_answer():
    r = render([([[1]], [[2]]), ([[3]], [[4]])], [[5]], "grid", answer=[[6]])
    assert r.prompt == "in:\n1\nout:\n2\n\nin:\n3\nout:\n4\n\nin:\n5\nout:" and r.answer == "\n6\n\n"


def test_one_token_per_grid_cell_with_the_default_tokenizer(real_rt):
    grid = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [9, 9, 0, 0, 1]]
    body = "\n".join("".join(map(str, row)) for row in grid)
    ids = real_rt.encode(body)
    assert len(ids) == 15 + 2  # 15 cells and 2 row breaks
    assert [real_rt.tokenizer.decode([i]) for i in ids][:6] == ["0", "1", "2", "3", "4", "\n"]


def test_completion_detection():
    assert is_complete("\n12\n34\n\n", "grid") and not is_complete("\n12\n3", "grid")
    assert is_complete("\n12\nin:", "grid")  # a grid answer that wanders into text is over
    assert is_complete(" HELLO\n\n", "text") and not is_complete(" HELLO", "text")


def test_malformed_grid_answers_parse_to_none():
    assert parse_answer("\n12\n3\n\n", "grid") is None
    assert parse_answer("\nab\n\n", "grid") is None
    assert parse_answer("\n\n", "grid") is None
