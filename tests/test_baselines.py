"""Baseline routers behind one interface, the learned router as one of them, and the log-to-table pivot."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from policies.baselines import ROUTERS, Always, Learned, Oracle, Random, Threshold, make_router
from policies.budget import Budget
from policies.router import StrategyRouter
from policies.table import Table, pivot

STRATS = ["icl", "ttt", "tlm"]


def table(n=40, seed=0) -> Table:
    """demo_ppl high => icl fails and ttt works; self_consistency low likewise; tlm always fails."""
    rng = np.random.default_rng(seed)
    ppl = rng.uniform(0, 4, n)
    hard = ppl > 2
    X = np.column_stack([ppl, np.where(hard, 0.2, 0.9) + rng.uniform(-0.05, 0.05, n)])
    correct = np.column_stack([~hard, hard | (rng.uniform(size=n) < 0.5), np.zeros(n, bool)]).astype(float)
    seconds = np.column_stack([np.full(n, 1.0), np.full(n, 60.0), np.full(n, 30.0)])
    return Table.from_arrays(correct, seconds, STRATS, X=X, feature_names=["demo_ppl", "self_consistency"])


def build(name: str, t: Table):
    if name == "oracle":
        return Oracle.of(t)
    if name == "learned":
        return Learned(StrategyRouter(C=10.0).fit(t.X, t.correct, feature_names=t.feature_names,
                                                  strategy_names=t.strategies))
    if name == "always":
        return make_router(name, "ttt")
    if name == "ppl_threshold":
        return make_router(name, threshold=2.0)
    if name == "consistency_threshold":
        return make_router(name, threshold=0.5)
    return make_router(name)


@pytest.mark.parametrize("name", list(ROUTERS))
def test_every_router_names_a_known_strategy_per_query(name):
    t = table()
    for budget in (None, Budget(share=0.3), Budget(seconds=20.0)):
        out = build(name, t).route(t.queries(), budget)
        assert len(out) == t.n and set(out) <= set(STRATS)


def test_always_routes_everything_to_one_strategy():
    t = table()
    assert set(Always("tlm").route(t.queries())) == {"tlm"}
    with pytest.raises(KeyError, match="strategy 'ttt2' is not in this table"):
        Always("ttt2").route(t.queries())


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5, 1.0])
def test_random_spends_exactly_the_budgeted_share(share):
    t = table()
    out = Random(seed=3).route(t.queries(), Budget(share=share))
    assert np.mean(out != "icl") == pytest.approx(round(share * t.n) / t.n)


def test_random_matches_a_seconds_budget_in_expectation():
    t = table()
    out = Random(expensive=["ttt"]).route(t.queries(), Budget(seconds=30.5))
    assert np.mean(out == "ttt") == pytest.approx(0.5)


def test_the_perplexity_threshold_sends_high_perplexity_tasks_to_ttt():
    t = table()
    out = Threshold("demo_ppl", "high", expensive="ttt", threshold=2.0).route(t.queries())
    assert list(out == "ttt") == list(t.X[:, 0] > 2.0)


def test_the_consistency_threshold_sends_low_vote_share_tasks_to_ttt():
    t = table()
    out = make_router("consistency_threshold", expensive="ttt").route(t.queries(), Budget(share=0.25))
    sent = out == "ttt"
    assert sent.mean() == pytest.approx(0.25)
    assert t.X[sent, 1].max() < t.X[~sent, 1].min()


def test_a_threshold_router_needs_a_threshold_or_a_budget():
    with pytest.raises(ValueError, match="needs a threshold or a budget"):
        make_router("ppl_threshold").route(table().queries())


def test_the_oracle_picks_the_cheapest_correct_strategy_else_the_cheapest():
    correct = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=float)
    seconds = np.array([[1, 60, 30], [1, 60, 30], [2, 60, 30]], dtype=float)
    t = Table.from_arrays(correct, seconds, STRATS)
    assert list(Oracle.of(t).route(t.queries())) == ["icl", "tlm", "icl"]


def test_the_oracle_under_a_budget_spends_it_on_queries_that_need_it():
    correct = np.array([[0, 1, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=float)
    t = Table.from_arrays(correct, np.tile([1.0, 60.0, 30.0], (4, 1)), STRATS)
    assert list(Oracle.of(t).route(t.queries(), Budget(share=0.25))) == ["ttt", "icl", "icl", "icl"]


def test_the_learned_router_calibrated_to_a_share_spends_it():
    t = table(n=200)
    out = build("learned", t).route(t.queries(), Budget(share=0.3))
    assert abs(np.mean(out != "icl") - 0.3) <= 1 / t.n


def test_the_learned_router_reads_features_by_name():
    t = table()
    r = build("learned", t)
    swapped = Table.from_arrays(t.correct, t.seconds, STRATS, X=t.X[:, ::-1],
                                feature_names=["self_consistency", "demo_ppl"])
    assert list(r.route(swapped.queries())) == list(r.route(t.queries()))


def test_the_registry_refuses_an_unknown_router():
    with pytest.raises(KeyError, match="unknown router 'elo'"):
        make_router("elo")


# -- pivoting the outcome log ---------------------------------------------------------------------------
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def log_row(task, strategy, correct, wall_s, minutes=0, model="m", **features):
    return {"task_hash": task, "strategy": strategy, "correct": correct, "wall_s": wall_s, "model_id": model,
            "features": features, "created_at": T0 + timedelta(minutes=minutes)}


def test_pivot_turns_log_rows_into_a_query_by_strategy_table():
    rows = [log_row("a", "ttt", True, 50.0, demo_ppl=3.0), log_row("a", "icl", False, 1.0, demo_ppl=3.0),
            log_row("b", "icl", True, 2.0, demo_ppl=1.0)]
    t = pivot(rows)
    assert t.keys == ["a", "b"] and t.strategies == ["icl", "ttt"] and t.cheap == "icl"
    assert t.feature_names == ["demo_ppl"] and list(t.X[:, 0]) == [3.0, 1.0]
    assert t.correct[0].tolist() == [0.0, 1.0] and t.correct[1, 0] == 1.0 and np.isnan(t.correct[1, 1])
    assert t.complete().keys == ["a"]


def test_pivot_keeps_the_latest_run_with_feedback():
    rows = [log_row("a", "icl", False, 1.0, minutes=0), log_row("a", "icl", True, 3.0, minutes=5),
            log_row("a", "icl", None, 9.0, minutes=9)]
    t = pivot(rows)
    assert t.correct[0, 0] == 1.0 and t.seconds[0, 0] == 3.0


def test_pivot_refuses_rows_of_several_models_unless_one_is_chosen():
    rows = [log_row("a", "icl", True, 1.0, model="m1"), log_row("a", "icl", False, 1.0, model="m2")]
    with pytest.raises(ValueError, match="pass model_id"):
        pivot(rows)
    assert pivot(rows, model_id="m2").correct[0, 0] == 0.0


def test_queries_see_per_strategy_median_seconds_not_each_querys_own():
    t = Table.from_arrays([[1, 0], [1, 0], [1, 0]], [[1, 10], [2, 20], [9, 90]], ["icl", "ttt"])
    assert t.queries().costs.tolist() == [[2.0, 20.0]] * 3
