"""Specification of voting (flat and hierarchical) and of augmentation scoring's plumbing."""
import math

import pytest

from strategies.augment import views
from strategies.task import task_from_obj
from strategies.voting import augmentation_score, vote

A, B, C = [[1]], [[2]], [[3]]


def test_clear_majority_wins_with_its_share():
    ranked = vote([("identity", A), ("rot90", A), ("flip_h", B), ("rot180", A)])
    assert ranked == [(A, 0.75), (B, 0.25)]


def test_ties_go_to_the_identity_views_answer():
    # B is seen first, but the identity view said A
    assert vote([("rot90", B), ("identity", A)])[0][0] == A


def test_ties_without_identity_votes_go_to_the_first_seen():
    assert vote([("rot90", B), ("flip_h", A)])[0][0] == B


def test_depth_two_counts_views_not_answers():
    # one view repeats A five times; three views each say B once
    candidates = [("rot90", A)] * 5 + [("identity", B), ("flip_h", B), ("flip_v", B)]
    assert vote(candidates, depth=1)[0] == (A, 5 / 8)
    assert vote(candidates, depth=2)[0] == (B, 3 / 4)


def test_depth_two_nominates_only_top_k_per_view():
    candidates = [("rot90", A), ("rot90", A), ("rot90", B), ("rot90", C), ("identity", C)]
    ranked = vote(candidates, depth=2, top_k=1, n_attempts=3)
    assert [value for value, _ in ranked] == [C, A]   # B is not in rot90's top 1; C wins the tie


def test_invalid_answers_never_win():
    ranked = vote([("identity", None), ("rot90", None), ("flip_h", None), ("flip_v", A), ("x", "  ")])
    assert ranked == [(A, 0.2)]


def test_no_valid_answer_gives_nothing():
    assert vote([("identity", None)]) == []


def test_n_attempts_is_respected():
    candidates = [("identity", A), ("rot90", B), ("flip_h", C)]
    assert len(vote(candidates, n_attempts=2)) == 2
    assert len(vote(candidates, n_attempts=1)) == 1


def test_text_answers_vote_like_grids():
    assert vote([("identity", "yes"), ("identity", "no"), ("identity", "yes")])[0] == ("yes", 2 / 3)


def test_unknown_depth_is_refused():
    with pytest.raises(ValueError, match="depth"):
        vote([("identity", A)], depth=3)


@pytest.fixture(scope="module")
def tiny():
    from strategies.runtime import tiny_runtime
    return tiny_runtime()


def test_augmentation_score_sums_over_views_in_one_call(tiny, monkeypatch):
    task = task_from_obj({"train": [{"input": [[1, 2]], "output": [[2, 1]]}, {"input": [[3, 0]], "output": [[0, 3]]}],
                          "test": [{"input": [[4, 5]]}]})
    vs = views(task, 3, seed=0)
    calls = []
    real = tiny.score
    monkeypatch.setattr(tiny, "score", lambda p, a: calls.append(len(p)) or real(p, a))
    scores, cost = augmentation_score(tiny, task, 0, [[[5, 4]], [[4, 5]], None, "text"], vs)
    assert calls == [2 * len(vs)]    # the two valid candidates in every view, in one call
    assert len(scores) == 4 and all(math.isfinite(s) and s < 0 for s in scores[:2])
    assert scores[2:] == [-math.inf, -math.inf]
    assert cost.wall_s > 0 and cost.tokens_in > 0


@pytest.mark.slow
def test_augmentation_score_prefers_the_right_answer_with_the_real_model():
    from strategies.runtime import Runtime
    rt = Runtime.load()
    words = ["apple", "river", "stone", "cloud", "green", "table"]
    task = task_from_obj({"train": [{"input": w, "output": w.upper()} for w in words],
                          "test": [{"input": "house"}]})
    scores, _ = augmentation_score(rt, task, 0, ["HOUSE", "house", "MOUSE"], views(task, 4, seed=0))
    assert scores[0] == max(scores)
