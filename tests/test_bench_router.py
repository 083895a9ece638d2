"""eval/bench_router.py on a small synthetic log: every router's curve, the targets and the ablation come out."""
from __future__ import annotations

import json

from routelog import fill_log, synthetic_rows


def test_bench_router_reports_curves_targets_and_ablation(tmp_path, capsys):
    from eval.bench_router import main
    db, out = f"sqlite:///{tmp_path / 'log.db'}", tmp_path / "router.json"
    fill_log(db, synthetic_rows(n_families=4, per_family=10))
    assert main(["--db", db, "--out", str(out), "--md", "--folds", "4"]) == 0
    res = json.loads(out.read_text())
    assert res["weak"] == "icl" and res["strong"] == "ttt-tiny" and res["families"] == 4
    assert set(res["curves"]) == {"router", "random", "oracle", "ppl-threshold", "consistency-threshold"}
    assert all(len(points) == 11 for points in res["curves"].values())
    assert set(res["targets"]) == {"accuracy_at_time", "apgr", "above_single_feature"}
    assert set(res["featurizing_s"]) == {"router", "ppl-threshold", "consistency-threshold"}
    dropped = {a["dropped"] for a in res["ablation"]}
    assert {"self_consistency", "demo_ppl", "all model features"} <= dropped
    md = capsys.readouterr().out
    assert f"--db {db} --out {out} --md --folds 4" in md and "| router: APGR (cost) >= 0.8 |" in md


def test_bench_router_checks_the_targets_on_a_cascade_when_asked(tmp_path, capsys):
    from eval.bench_router import main
    db, out = f"sqlite:///{tmp_path / 'log.db'}", tmp_path / "router.json"
    fill_log(db, synthetic_rows(n_families=4, per_family=10))
    assert main(["--db", db, "--out", str(out), "--md", "--folds", "4", "--no-ablation",
                 "--cascade", "is_grid,prompt_chars", "--escalate", "0.25"]) == 0
    res = json.loads(out.read_text())
    assert "cascade" in res["curves"] and res["targets"]["accuracy_at_time"]["router"] == "cascade"
    assert res["cascade"] == {"features": ["is_grid", "prompt_chars"], "escalate": 0.25}
    # stage 1 reads no model feature; a quarter of the queries pay for the rest (no costs logged here: 0)
    assert res["featurizing_s"]["cascade"] <= res["featurizing_s"]["router"]
    for name, m in res["summary"].items():   # featurizing included never makes a router look cheaper
        if m["total_cost_axis"]["apgr"] is not None:
            assert m["total_cost_axis"]["apgr"] <= m["cost_axis"]["apgr"] + 1e-9, name
    assert "| cascade: APGR (cost) >= 0.8 |" in capsys.readouterr().out


def test_a_stronger_regularisation_changes_the_cross_validated_probabilities(tmp_path, capsys):
    from eval.bench_router import main
    db = f"sqlite:///{tmp_path / 'log.db'}"
    fill_log(db, synthetic_rows(n_families=4, per_family=10))
    apgr = {}
    for c in ("1", "0.001"):
        out = tmp_path / f"router{c}.json"
        assert main(["--db", db, "--out", str(out), "--folds", "4", "--no-ablation", "--C", c]) == 0
        apgr[c] = json.loads(out.read_text())["summary"]["router"]["cost_axis"]["apgr"]
    assert apgr["1"] != apgr["0.001"]
    assert main(["--db", db, "--out", str(tmp_path / "x.json"), "--C", "-1"]) == 2
    assert "--C -1.0: expected a positive number" in capsys.readouterr().err
