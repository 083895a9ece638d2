"""The BBH results table: per-task cells, the oracle, leave-one-task-out routing with deciding counted."""
import json

import pytest

from eval.bbh_report import apgr_of, build, common_rows, main, markdown, oracle
from eval.bbh_router import Routed, decide_seconds, fold_budget, parse_budget, prior

STRATEGIES = ("zero-shot", "icl", "icl-vote", "ttt-lite", "ttt")
# per task: which strategies are right (TTT pays on the "rule" tasks, ICL is enough on "known" ones)
RIGHT = {"rule_a": {"ttt", "ttt-lite"}, "rule_b": {"ttt", "ttt-lite"}, "rule_c": {"ttt"},
         "known_a": {"icl", "icl-vote", "ttt", "ttt-lite"}, "known_b": {"icl", "icl-vote", "ttt"},
         "known_c": {"icl", "zero-shot", "icl-vote", "ttt"}}
SECONDS = {"zero-shot": 0.2, "icl": 0.5, "icl-vote": 2.0, "ttt-lite": 6.0, "ttt": 12.0}


def rows(queries=4):
    out = []
    for t, right in RIGHT.items():
        rule = t.startswith("rule")
        feats = {"n_demos": 10.0, "n_tests": 1.0, "is_grid": 0.0, "grid_side_mean": 0.0, "same_shape": 0.0,
                 "answer_size": 4.0 if rule else 3.0, "prompt_chars": 900.0 if rule else 300.0,
                 "prompt_tokens": 250.0 if rule else 90.0, "probe_drop": 0.3 if rule else 0.01,
                 "probe_loss0": 1.0, "probe_loss1": 0.7 if rule else 0.99, "demo_ppl": 9.0 if rule else 3.0}
        for q in range(queries):
            for s in STRATEGIES:
                out.append({"task_hash": f"{t}-{q}", "family": t, "strategy": s, "suite": "bbh", "model_id": "m",
                            "correct": s in right, "wall_s": SECONDS[s], "cost": {"wall_s": SECONDS[s]},
                            "features": feats, "created_at": "2026-12-01T00:00:00+00:00"})
    return out


def test_oracle_takes_the_most_accurate_then_the_cheaper():
    cells = {"icl": {"accuracy": 0.5, "seconds_per_query": 1.0}, "ttt": {"accuracy": 0.5, "seconds_per_query": 9.0},
             "icl-vote": {"accuracy": 0.25, "seconds_per_query": 2.0}}
    assert oracle(cells, ["icl", "ttt", "icl-vote"])["strategy"] == "icl"


def test_common_rows_keep_the_queries_every_strategy_answered():
    rs = rows(3)
    rs = [r for r in rs if not (r["strategy"] == "ttt" and r["task_hash"] == "rule_a-2")]
    kept = common_rows(rs, STRATEGIES)
    assert {r["task_hash"] for r in kept if r["family"] == "rule_a"} == {"rule_a-0", "rule_a-1"}
    assert len(kept) == len(rs) - 4


def test_decide_seconds_share_the_recorded_cost_over_the_queries():
    costs = {"h1": {"ttt_probe": 3.0, "counts": 0.0}, "h2": {"ttt_probe": 3.0}}
    assert decide_seconds([{"task_hash": "h1"}, {"task_hash": "h2"}], costs, ["ttt_probe"]) == 3.0
    assert decide_seconds([{"task_hash": "h1"}, {"task_hash": "h2"}], costs, ["counts"]) == 0.0


def test_build_routes_each_task_left_out_and_counts_deciding():
    rs = rows()
    costs = {r["task_hash"]: {"ttt_probe": 2.0, "demo_ppl": 0.1, "counts": 0.0} for r in rs}
    res = build(rs, [], costs, STRATEGIES)
    assert set(res["tasks"]) == set(RIGHT)
    for t, row in res["tasks"].items():
        assert row["oracle"]["accuracy"] == 1.0
        routed = row["routed"]
        picked = row[routed["strategy"]]
        assert routed["accuracy"] == picked["accuracy"]
        assert routed["seconds_per_query"] == pytest.approx(picked["seconds_per_query"] + routed["decide_s"])
        assert row["routed-probe"]["decide_s"] == pytest.approx(2.0)       # the probe's cost, per query
        assert row["routed-free"]["decide_s"] == 0.0
    assert res["macro"]["oracle"]["accuracy"] == 1.0
    assert 0 <= res["deciding_share"] <= 1
    assert res["budget"] == "ttt=0.5"
    assert set(res["apgr"]) == {"routed-free", "routed-probe", "routed-ppl"} and "apgr_prior" in res
    assert all(row["routed"]["budget_s"] == pytest.approx(6.0) for row in res["tasks"].values())   # half of ttt's 12 s
    md = markdown(res)
    assert md.count("\n| rule_") == 3 and "paper, Llama-3.1-8B" in md
    assert "APGR (cost axis, deciding counted): routed-free " in md and "feature-blind reference" in md


def test_apgr_is_on_the_cost_axis_with_deciding_counted():
    rs = rows()
    truth = {t: Routed("", 0.0, P=[float(s in right) for s in STRATEGIES], C=[SECONDS[s] for s in STRATEGIES])
             for t, right in RIGHT.items()}
    wrong = {t: Routed("", 0.0, P=[1.0 - p for p in r.P], C=r.C) for t, r in truth.items()}
    knows = apgr_of(truth, rs, STRATEGIES, list(RIGHT))
    # knowing which tasks need training recovers the whole icl -> ttt gap at a fraction of its seconds
    # (zero-shot, cheaper than ICL and right on one task, is no "expensive call" dragging the curve down)
    assert knows >= 0.8
    assert apgr_of(wrong, rs, STRATEGIES, list(RIGHT)) < 0.5 < knows
    blind = apgr_of(prior(rs, STRATEGIES, truth), rs, STRATEGIES, list(RIGHT))
    assert blind < knows
    slow = {t: Routed("", 3.0, P=r.P, C=r.C) for t, r in truth.items()}   # 3 s a query to decide
    assert apgr_of(slow, rs, STRATEGIES, list(RIGHT)) < knows
    assert apgr_of({t: Routed("icl", 0.0) for t in RIGHT}, rs, STRATEGIES, list(RIGHT)) is None


def test_the_budget_is_a_share_of_ttt_seconds_on_the_training_tasks_or_fixed():
    train = [{"family": "a", "strategy": "ttt", "wall_s": 10.0}, {"family": "a", "strategy": "ttt", "wall_s": 30.0},
             {"family": "b", "strategy": "ttt", "wall_s": 60.0}, {"family": "b", "strategy": "icl", "wall_s": 1.0}]
    assert fold_budget(parse_budget("ttt=0.5"), train) == pytest.approx(0.5 * (20.0 + 60.0) / 2)   # macro over tasks
    assert fold_budget(parse_budget("seconds=7"), train) == 7.0
    with pytest.raises(ValueError, match="no ttt rows"):
        fold_budget(parse_budget("ttt=0.5"), train[3:])
    for bad in ("ttt", "share=0.5", "seconds=-1", "ttt=x"):
        with pytest.raises(ValueError, match="expected ttt=SHARE"):
            parse_budget(bad)


def test_a_tighter_budget_routes_cheaper():
    rs = rows()
    costs = {r["task_hash"]: {"ttt_probe": 2.0, "demo_ppl": 0.1, "counts": 0.0} for r in rs}
    tight, loose = (build(rs, [], costs, STRATEGIES, budget=b)["macro"]["routed-free"] for b in ("seconds=0.3", "ttt=1"))
    assert tight["seconds_per_query"] < loose["seconds_per_query"]


def test_command_writes_json_and_chart(tmp_path):
    from policies.outcomes import OutcomeLog, OutcomeRow
    url = f"sqlite:///{tmp_path}/b.db"
    with OutcomeLog(url) as log:
        for r in rows(2):
            log.append(OutcomeRow(task_hash=r["task_hash"], task_name=r["task_hash"], strategy=r["strategy"],
                                  model_id="m", features=r["features"], attempts=[["x"]], correct=r["correct"],
                                  cost={"wall_s": r["wall_s"]}, suite="bbh", family=r["family"]))
            log.feature_costs.record(r["task_hash"], "m", {"ttt_probe": {"wall_s": 1.0}})
    out, png = tmp_path / "bbh.json", tmp_path / "bbh.png"
    assert main(["--db", url, "--base", "--out", str(out), "--png", str(png)]) == 0
    res = json.loads(out.read_text())
    assert set(res["tasks"]["rule_a"]) >= {*STRATEGIES, "routed", "oracle"} and png.stat().st_size > 1000
    assert main(["--db", f"sqlite:///{tmp_path}/missing.db", "--out", str(out)]) == 2
    assert main(["--db", url, "--base", "--out", str(out), "--budget", "share=0.5"]) == 2
