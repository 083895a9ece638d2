"""The stage-1 route scan: one line per task, routes among the shipped router's strategies, no model feature."""
import json

import pytest

from eval.scan_routes import main, seed_range


@pytest.fixture
def shipped_router(monkeypatch):
    """The shipped router, not the suite's no-router default."""
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)


def test_scanning_the_bundled_tasks_routes_each_on_cheap_features(tmp_path, capsys, tiny_rt, shipped_router):
    from policies.decide import shipped
    out = tmp_path / "scan.jsonl"
    assert main(["bundled", "--model", "tiny", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    strategies = set(shipped(None, tiny_rt.model_id).strategies)
    assert rows and all(r["strategy"] in strategies and set(r["P"]) == strategies for r in rows)
    summary = json.loads(capsys.readouterr().out)
    assert summary["tasks"] == len(rows) and sum(summary["routes"].values()) == len(rows)


def test_a_scan_never_computes_the_probe(tmp_path, tiny_rt, monkeypatch, shipped_router):
    from dataclasses import replace

    from policies.features import FEATURES
    for name, spec in list(FEATURES.items()):
        if spec.runs_model:
            monkeypatch.setitem(FEATURES, name, replace(spec, fn=lambda *a, **k: pytest.fail("a model feature ran")))
    from policies.decide import first_look
    from strategies.task import load_task
    from eval.scan_routes import ROOT
    task = load_task(sorted((ROOT / "controller" / "demo_tasks").glob("*.json"))[0])
    look = first_look(task, tiny_rt)
    assert look is not None and look.strategy in look.P


def test_without_a_cascade_there_is_nothing_to_look_at(tiny_rt):
    from policies.decide import first_look
    from strategies.task import load_task
    from eval.scan_routes import ROOT
    task = load_task(sorted((ROOT / "controller" / "demo_tasks").glob("*.json"))[0])
    assert first_look(task, tiny_rt) is None   # the suite runs with no router


@pytest.mark.parametrize("text, expected", [("5", range(5, 6)), ("3-5", range(3, 6))])
def test_seed_ranges(text, expected):
    assert seed_range(text) == expected


@pytest.mark.parametrize("text", ["5-3", "a-b", ""])
def test_bad_seed_ranges_are_refused(text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError):
        seed_range(text)
