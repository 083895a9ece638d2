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


def test_a_derailed_grid_answer_is_over():
    assert is_complete("\n" + "7" * 31, "grid")          # a row past 30 cells
    assert is_complete("\n12\n345", "grid")             # a row growing past the first row's width
    assert is_complete("\n123\n45\n", "grid")          # a finished row of another width
    assert is_complete("\n1\n" * 31, "grid")            # more than 30 rows
    assert not is_complete("\n12\n3", "grid") and not is_complete("\n12\n34\n5", "grid")
    assert not is_complete("\n" + "7" * 30, "grid") and not is_complete("\n" + "1\n" * 30, "grid")


@given(grids)
def test_a_well_formed_grid_answer_never_stops_early(grid):
    answer = render_answer(grid, "grid")
    body = answer[:-2]   # without END
    assert not any(is_complete(body[:n], "grid") for n in range(len(body) + 1))


@settings(max_examples=300)
@given(st.text(st.sampled_from("1234\n"), max_size=40), st.text(st.sampled_from("1234\n"), max_size=40))
def test_stopping_a_derailed_grid_answer_loses_no_parsable_answer(head, rest):
    # the decoder stops at `head` when it is complete; whatever the model would have added, the answer
    # that stopping throws away could not have parsed (unless it already held the end marker)
    if is_complete(head, "grid") and "\n\n" not in head:
        assert parse_answer(head + rest, "grid") is None


def test_malformed_grid_answers_parse_to_none():
    assert parse_answer("\n12\n3\n\n", "grid") is None
    assert parse_answer("\nab\n\n", "grid") is None
    assert parse_answer("\n\n", "grid") is None
