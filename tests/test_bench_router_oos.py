"""The shipped router scored on outcomes it never saw (eval/bench_router_oos.py)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from controller.cli import main as tttc
from eval.bench_router_oos import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "eval" / "data" / "outcomes-heldout-conversions-gemma3-adapt.jsonl"


def test_the_shipped_router_is_scored_on_a_committed_out_of_sample_log(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'oos.db'}"
    assert tttc(["import-outcomes", str(DATA), "--db", db]) == 0
    out = tmp_path / "oos.json"
    assert main(["--db", db, "--router", str(ROOT / "policies" / "shipped"), "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["tasks"] == 48 and got["families"] == 8
    assert {"router", "cascade", "ppl-threshold", "consistency-threshold", "oracle"} <= set(got["apgr_cost"])
    assert all(math.isfinite(v) for v in got["apgr_cost"].values())
    assert got["apgr_cost"]["oracle"] >= max(v for k, v in got["apgr_cost"].items() if k != "oracle")
    # every curve spends within the budgets swept, from always-icl's seconds upwards
    assert all(len(c) == len(got["budgets_s"]) for c in got["curves"].values())


def test_an_empty_log_is_refused_with_a_message(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["--db", db, "--out", str(tmp_path / "x.json")]) == 2
    assert "exactly one model" in capsys.readouterr().err


def test_a_router_of_another_model_is_refused(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'oos.db'}"
    assert tttc(["import-outcomes", str(DATA), "--db", db]) == 0
    other = ROOT / "policies" / "shipped" / "by-model" / "smollm2+smollm2-adapt"
    assert main(["--db", db, "--router", str(other), "--out", str(tmp_path / "x.json")]) == 2
    assert "trained for smollm2" in capsys.readouterr().err
