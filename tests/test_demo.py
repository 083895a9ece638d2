"""The main demo: bundled tasks, what the agent is shown, and a tiny-model smoke run that ends in a report."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from controller import demo

ROOT = Path(__file__).parents[1]


def test_every_bundled_task_loads_with_answers_and_both_kinds_are_there():
    tasks = demo.load_tasks(None)
    assert 6 <= len(tasks) <= 8 and all(t.has_answers for t, _, _ in tasks)
    assert {t.kind for t, _, _ in tasks} == {"text", "grid"}
    assert {"easy", "hard"} <= {expect for _, _, expect in tasks}
    bundled = [src for src, _, _ in demo.TASKS if ":" not in src]
    assert sorted(p.stem for p in demo.TASKS_DIR.glob("*.json")) == sorted(bundled)
    if demo.BBH_DIR.is_dir():   # a BIG-Bench Hard task: its queries are scored after BBH's normalisation
        bbh = [t for t, family, _ in tasks if family.startswith("BIG-Bench Hard")]
        assert len(bbh) == 1 and len(bbh[0].test) == 3 and bbh[0].scoring == "normalised"


def test_the_agent_is_shown_the_demonstrations_but_never_the_answers():
    task = demo.load_tasks(1)[0][0]
    body = json.loads(demo.solve_message(task).split("\n", 1)[1])
    assert body["train"] == task.to_json()["train"]
    assert body["test"] == [{"input": ex.input} for ex in task.test]


def test_tiny_shrinks_the_librarys_ttt_to_two_steps_and_keeps_its_other_settings(monkeypatch):
    import strategies.registry as library
    reg = library.Registry()
    reg.add(library.Spec("ttt", "ttt", {"n_views": 3, "train": {"max_steps": 16, "lr": 1e-3}}))
    monkeypatch.setattr(library, "_DEFAULT", reg)
    demo.shrink_ttt()
    cfg = reg.get("ttt").config()
    assert (cfg.train.max_steps, cfg.n_views) == (2, 2)
    assert cfg.train.lr == 1e-3


def test_tiny_smoke_run_routes_answers_logs_and_writes_a_report(tmp_path):
    db, out = tmp_path / "demo.db", tmp_path / "report"
    run = subprocess.run([sys.executable, "-m", "controller.demo", "--tiny", "--limit", "2", "--db", str(db), "--report", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    text = run.stdout
    assert "route: icl" in text and "route: ttt" in text          # a text task, then a grid task
    assert "training step 2/2" in text and "answer:" in text and "cost:" in text
    assert f"report: {out / 'report.html'}" in text
    from policies.outcomes import OutcomeLog
    with OutcomeLog(f"sqlite:///{db}") as log:
        rows = log.rows()
    # the two routed answers, and plain ICL on the task routed to TTT; every one scored
    assert sorted((r["task_name"], r["strategy"], bool(r["route_reason"])) for r in rows) == [
        ("flip", "icl", False), ("flip", "ttt", True), ("upper", "icl", True)]
    assert all(r["correct"] is not None and r["suite"] == "demo" for r in rows)
    md = (out / "report.md").read_text()
    assert "python -m controller.demo --tiny --limit 2" in md and "| ttt |" in md
