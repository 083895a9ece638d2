"""--escalate pays: a cascade's stage-1 threshold chosen for realised utility, the escalation features' seconds counted."""
from __future__ import annotations

import json

import numpy as np
import pytest
from routelog import as_logged, fill_log, synthetic_rows

from policies.budget import Budget
from policies.cascade import (PAYS, CascadeOOF, decide, escalation_features, escalation_gain, escalation_seconds,
                              margins, parse_escalate, stage1_features, threshold_for_rate, threshold_that_pays)
from policies.table import Table
from policies.train import train_router

CASCADE = stage1_features("free")   # stage 1; the synthetic truth lives in the model features


def _utility(P1, P2, C, lam, correct, seconds, f, threshold) -> float:
    """Mean realised utility of the cascade at `threshold`: correct - lam*(seconds + escalated * feature seconds)."""
    pick, esc = decide(P1, P2, C, lam, lam, threshold)
    rows = np.arange(len(pick))
    return float(np.mean(correct[rows, pick] - lam * (seconds[rows, pick] + esc * f)))


def _setup(n=400, seed=0):
    """Two strategies, a cheap one (1 s) and a dear one (10 s). Stage 1 knows nothing (P1 near 0.5); stage 2
    knows which is right. The dear one is right on a random 40%, the cheap one on the rest."""
    rng = np.random.default_rng(seed)
    dear_right = rng.random(n) < 0.4
    correct = np.stack([~dear_right, dear_right], axis=1).astype(float)
    seconds = np.tile([1.0, 10.0], (n, 1))
    P1 = 0.5 + rng.normal(0, 0.02, (n, 2))
    P2 = np.clip(correct * 0.8 + 0.1 + rng.normal(0, 0.05, (n, 2)), 0, 1)
    return P1, P2, seconds.copy(), correct, seconds


def test_parse_escalate_takes_pays_or_a_share():
    assert parse_escalate("pays") == PAYS and parse_escalate("0.25") == 0.25 and parse_escalate("0") == 0.0
    for bad in ("2", "-0.1", "often", "nan"):
        with pytest.raises(ValueError, match="pays"):
            parse_escalate(bad)


def test_gain_is_the_realised_utility_change_less_the_features():
    P1 = np.array([[0.6, 0.5], [0.6, 0.5]])       # stage 1 picks the cheap strategy for both
    P2 = np.array([[0.1, 0.9], [0.9, 0.1]])       # stage 2: the dear one for query 0, the cheap one for query 1
    C = seconds = np.array([[1.0, 11.0], [1.0, 11.0]])
    correct = np.array([[0.0, 1.0], [1.0, 0.0]])
    g = escalation_gain(P1, P2, C, 0.0, 0.01, correct, seconds, np.array([5.0, 5.0]))
    # query 0: right instead of wrong (+1) for 10 s more (-0.1), and 5 s of features (-0.05); query 1: the features only
    assert g == pytest.approx([0.85, -0.05])
    # a budget that asks for more seconds than the router spends (lam < 0): seconds are not scarce, nothing is paid
    assert escalation_gain(P1, P2, C, 0.0, -0.01, correct, seconds, np.array([5.0, 5.0])) == pytest.approx([1.0, 0.0])


def test_threshold_that_pays_escalates_the_unsure_queries_that_gain_and_none_when_nothing_does():
    m = np.array([0.01, 0.02, 0.03, 0.5, 0.6])
    gain = np.array([0.5, 0.4, -0.1, -0.1, -0.1])
    t = threshold_that_pays(m, gain)
    assert np.flatnonzero(m < t).tolist() == [0, 1]
    assert threshold_that_pays(m, np.full(5, -0.05)) == -np.inf      # the features cost more than any pick wins
    assert threshold_that_pays(m, np.zeros(5)) == -np.inf             # a tie: escalating buys nothing, so none
    assert threshold_that_pays(m, np.full(5, 0.1)) == np.inf
    # a threshold cannot split equal margins: both escalate or neither
    t = threshold_that_pays(np.array([0.1, 0.1, 0.5]), np.array([0.3, -0.1, -0.1]))
    assert t > 0.1


def test_pays_escalates_where_stage_2_helps_a_lot_and_beats_every_fixed_rate_in_sample():
    P1, P2, C, correct, seconds = _setup()
    f = np.full(len(P1), 2.0)
    lam = 0.01
    m = margins(P1, C, lam)
    t = threshold_that_pays(m, escalation_gain(P1, P2, C, lam, lam, correct, seconds, f))
    assert (m < t).mean() > 0.8
    best_rate = max(_utility(P1, P2, C, lam, correct, seconds, f, threshold_for_rate(m, r))
                    for r in np.linspace(0, 1, 21))
    assert _utility(P1, P2, C, lam, correct, seconds, f, t) >= best_rate - 1e-12


def test_pays_escalates_nothing_when_the_features_cost_more_than_any_gain():
    P1, P2, C, correct, seconds = _setup()
    f = np.full(len(P1), 1000.0)     # lam * 1000 s = 10 > the most a pick can win (1)
    lam = 0.01
    m = margins(P1, C, lam)
    assert threshold_that_pays(m, escalation_gain(P1, P2, C, lam, lam, correct, seconds, f)) == -np.inf


def _cascade_oof(rate, f_seconds, folds=None):
    P1, P2, C, correct, seconds = _setup()
    table = Table.from_arrays(correct, seconds, ["cheap", "dear"])
    f = np.full(len(P1), f_seconds)
    oof = CascadeOOF(P1, P2, table.strategies, rate, f, correct, seconds, folds)
    return oof, table.queries(C)


def test_cross_fitted_pays_in_the_benchmark_cascade():
    folds = np.arange(400) % 5
    budget = Budget(seconds=3.0)   # less than the full router's argmax spends: seconds have a positive price
    oof, q = _cascade_oof(PAYS, 2.0, folds)
    oof.route(q, budget)
    assert oof.last_escalated > 0.5 and oof.last_featurizing == pytest.approx(2.0 * oof.last_escalated)
    assert oof.spent[budget] == (oof.last_escalated, oof.last_featurizing)
    oof, q = _cascade_oof(PAYS, 1000.0, folds)
    oof.route(q, budget)
    assert oof.last_escalated == 0.0 and oof.last_featurizing == 0.0
    with pytest.raises(ValueError, match="logged outcomes"):
        CascadeOOF(np.zeros((2, 2)), np.zeros((2, 2)), ["a", "b"], PAYS)


@pytest.mark.parametrize("f_seconds", [0.0, 1000.0])
def test_a_numeric_rate_escalates_its_share_whatever_the_features_cost(f_seconds):
    oof, q = _cascade_oof(0.25, f_seconds)
    oof.route(q, Budget(seconds=5.0))
    assert oof.last_escalated == pytest.approx(0.25)
    assert oof.last_featurizing == pytest.approx(0.25 * f_seconds)


def test_escalation_features_and_their_recorded_seconds():
    names = escalation_features(["is_grid", "prompt_chars", "self_consistency", "demo_ppl"], ["is_grid", "prompt_chars"])
    assert set(names) == {"self_consistency", "demo_ppl"}
    by_task = {"a": {"demo_ppl": 2.0, "self_consistency": 3.0}, "b": {"demo_ppl": 4.0}}
    # b lacks self_consistency: it counts the mean of the tasks that have it; c has no record at all
    assert escalation_seconds(["a", "b", "c"], names, by_task).tolist() == [5.0, 7.0, 6.0]
    assert escalation_seconds(["a"], ["ttt_probe"], by_task).tolist() == [0.0]
    with pytest.raises(ValueError, match="ttt_probe"):
        escalation_seconds(["a"], ["ttt_probe"], by_task, require=True)


def _costs(rows, seconds):
    return {r["task_hash"]: {"self_consistency": seconds, "demo_ppl": seconds, "loo_icl_acc": seconds} for r in rows}


@pytest.mark.parametrize("seconds,escalates", [(0.01, True), (1e4, False)])
def test_train_router_pays_stores_the_threshold_and_the_rate_it_came_to(seconds, escalates, tmp_path):
    from policies.bundle import load_bundle, save_bundle
    rows = as_logged(synthetic_rows())
    t = train_router(rows, Budget(seconds=15), cascade_features=CASCADE, escalate_rate=PAYS,
                     feature_costs=_costs(rows, seconds), estimator="logreg")
    c = t.report["cascade"]
    assert (c["escalated"] > 0.5) == escalates and (c["escalated"] == 0.0) == (not escalates)
    assert t.cascade["escalate"] == PAYS and t.cascade["rate"] == c["escalated"]
    assert c["gain"]["chosen"] >= max(c["gain"]["all"], 0.0) - 1e-12
    assert c["featurizing_s"] == pytest.approx(c["escalated"] * 3 * seconds)
    b = load_bundle(save_bundle(t.router, t.cost_model, tmp_path / "b", stage1=t.stage1, cascade=t.cascade))
    assert b.threshold == (float(t.cascade["threshold"]) if escalates else -np.inf)
    assert b.cascade["rate"] == c["escalated"]


def test_train_router_pays_refuses_a_log_without_feature_costs():
    with pytest.raises(ValueError, match="recorded seconds"):
        train_router(as_logged(synthetic_rows()), Budget(share=0.3), cascade_features=CASCADE, escalate_rate=PAYS)


def _log_with_costs(url, seconds, **kw):
    rows = synthetic_rows(**kw)
    fill_log(url, rows)
    from policies.outcomes import OutcomeLog
    with OutcomeLog(url) as log:
        for h, c in _costs(rows, seconds).items():
            log.feature_costs.record(h, "synthetic", {k: {"wall_s": v} for k, v in c.items()})


def test_cli_train_router_escalate_pays(tmp_path, capsys):
    from controller.cli import main
    from policies.bundle import load_bundle
    url = f"sqlite:///{tmp_path / 'log.db'}"
    _log_with_costs(url, 0.01)
    out = tmp_path / "shipped"
    assert main(["train-router", "--db", url, "--out", str(out), "--cascade", ",".join(CASCADE),
                 "--escalate", "pays"]) == 0
    assert "escalating where it pays" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cascade"]["escalate"] == PAYS and manifest["cascade"]["rate"] > 0
    assert load_bundle(out).cascade["rate"] == manifest["report"]["cascade"]["escalated"]
    assert main(["train-router", "--db", url, "--out", str(out), "--cascade", "free", "--escalate", "often"]) == 2
    assert "'pays' or a share" in capsys.readouterr().err


def test_bench_router_escalate_pays_counts_each_budgets_escalations(tmp_path, capsys):
    from eval.bench_router import main
    db, out = f"sqlite:///{tmp_path / 'log.db'}", tmp_path / "router.json"
    _log_with_costs(db, 3.0, n_families=4, per_family=10)
    args = ["--db", db, "--out", str(out), "--md", "--folds", "4", "--no-ablation", "--cascade", "free",
            "--budget", "seconds=8"]
    assert main(args + ["--escalate", "pays"]) == 0
    res = json.loads(out.read_text())
    esc = res["escalation"]
    assert set(esc["features"]) == {"self_consistency", "demo_ppl", "loo_icl_acc"}
    for e in esc["per_budget"]:   # every escalated query pays 9 s of features
        assert e["featurizing_s"] == pytest.approx(res["featurizing_s"]["cascade"] + 9.0 * e["escalated"])
    at = res["at_budget"]["cascade"]
    assert at["total_s"] == pytest.approx(at["seconds"] + at["featurizing_s"])
    assert at["featurizing_share"] == pytest.approx(at["featurizing_s"] / at["total_s"])
    assert "At the budget seconds=8" in capsys.readouterr().out
    # a fixed rate escalates its share at every budget
    assert main(args + ["--escalate", "0.25"]) == 0
    assert {e["escalated"] for e in json.loads(out.read_text())["escalation"]["per_budget"]} == {0.25}


def test_bench_router_escalate_pays_refuses_a_log_without_feature_costs(tmp_path, capsys):
    from eval.bench_router import main
    db = f"sqlite:///{tmp_path / 'log.db'}"
    fill_log(db, synthetic_rows(n_families=4, per_family=10))
    assert main(["--db", db, "--out", str(tmp_path / "r.json"), "--folds", "4", "--no-ablation",
                 "--cascade", "is_grid,prompt_chars", "--escalate", "pays"]) == 1
    assert "recorded seconds" in capsys.readouterr().err
