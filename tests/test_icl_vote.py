"""Specification of the icl-vote strategy and the shared answer-token cap."""
import pytest
from pydantic import ValidationError

from strategies.runtime.caps import MAX_CAP, MIN_CAP, answer_cap
from strategies.icl_vote import ICLVote, ICLVoteConfig
from strategies.serialize import render_answer
from strategies.task import task_from_obj

GRID_TASK = task_from_obj({
    "train": [{"input": [[1, 0], [0, 2]], "output": [[0, 1], [2, 0]]},
              {"input": [[3, 3], [0, 4]], "output": [[3, 3], [4, 0]]}],
    "test": [{"input": [[5, 0], [6, 7]]}, {"input": [[0, 8], [9, 0]]}],
})
TEXT_TASK = task_from_obj({
    "train": [{"input": w, "output": w.upper()} for w in ["apple", "river", "stone"]],
    "test": [{"input": "house"}],
})


@pytest.fixture(scope="module")
def tiny():
    from strategies.runtime import tiny_runtime
    return tiny_runtime()


@pytest.mark.parametrize("task", [GRID_TASK, TEXT_TASK], ids=["grid", "text"])
def test_icl_vote_returns_a_result_with_cost(tiny, task):
    stages = []
    result = ICLVote(ICLVoteConfig(n_views=4)).run(task, tiny, lambda stage, info: stages.append((stage, info)))
    assert result.strategy == "icl-vote"
    assert len(result.attempts) == len(task.test)
    assert all(len(a) <= 2 for a in result.attempts)
    assert 0.0 <= result.confidence <= 1.0
    assert result.cost.wall_s > 0 and result.cost.tokens_out > 0
    assert result.info["n_views"] == len(result.info["views"]) and len(result.info["shares"]) == len(task.test)
    assert stages == [("voting", {"views": result.info["n_views"]})]


def test_icl_vote_generates_once_for_all_views_and_test_inputs(tiny, monkeypatch):
    calls = []
    real = tiny.generate
    monkeypatch.setattr(tiny, "generate", lambda p, kind, caps, **kw: calls.append(len(p)) or real(p, kind, caps, **kw))
    result = ICLVote(ICLVoteConfig(n_views=3)).run(GRID_TASK, tiny)
    assert calls == [3 * len(GRID_TASK.test)] and result.info["n_views"] == 3


def test_icl_vote_maps_answers_back_before_voting(tiny, monkeypatch):
    # a model that always answers the query's own grid: every view's answer inverts to the test input
    from strategies.runtime import Generation
    from strategies.cost import Cost
    from strategies.serialize import render_answer

    def echo(prompts, kind, caps, **kw):
        queries = [p.rsplit("in:\n", 1)[1].rsplit("\nout:", 1)[0] for p in prompts]
        grids = [[[int(c) for c in row] for row in q.split("\n")] for q in queries]
        return Generation([render_answer(g, kind) for g in grids], [0.0] * len(prompts), Cost(wall_s=0.01))

    monkeypatch.setattr(tiny, "generate", echo)
    result = ICLVote(ICLVoteConfig(n_views=8)).run(GRID_TASK, tiny)
    assert [a[0] for a in result.attempts] == [e.input for e in GRID_TASK.test]
    assert result.confidence == 1.0


def test_config_refuses_unknown_keys():
    with pytest.raises(ValidationError):
        ICLVoteConfig(n_view=3)


def test_answer_cap_grows_with_the_query(tiny):
    small = answer_cap(GRID_TASK, [[1, 2], [3, 4]], tiny)
    big = answer_cap(GRID_TASK, [[1] * 8 for _ in range(8)], tiny)
    assert MIN_CAP <= small < big <= MAX_CAP


def test_answer_cap_covers_the_longest_demo_answer(tiny):
    # every demo's output has its input's shape: room for the query's shape and one more row, at least
    # MIN_CAP (tests/test_caps.py has the rules)
    assert answer_cap(GRID_TASK, [[1]], tiny) == MIN_CAP
    assert answer_cap(GRID_TASK, [[1] * 9] * 9, tiny) >= len(tiny.encode(render_answer([[1] * 9] * 10, "grid")))
    assert answer_cap(TEXT_TASK, "x" * 3000, tiny) < 64    # text caps do not scale with the input


def test_strategy_reports_the_name_it_was_built_under(tiny):
    assert ICLVote(ICLVoteConfig(n_views=1), name="icl-vote-1").run(TEXT_TASK, tiny).strategy == "icl-vote-1"
