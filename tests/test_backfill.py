"""Backfilling a new feature onto logged outcomes: rebuilt tasks, resumable values, atomic rewrites."""
from __future__ import annotations

import json

import pytest

from eval import backfill
from policies.outcomes import costs_path
from policies.features import featurize
from eval.suites.families.registry import make_task


def _log(tmp_path, model_id, rows):
    path = tmp_path / "outcomes-x.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    costs_path(path).write_text(json.dumps({"task_hash": rows[0]["task_hash"], "model_id": model_id,
                                            "feature": "counts", "wall_s": 0.0, "tokens_in": 0,
                                            "tokens_out": 0, "flops": 0.0}) + "\n")
    return path


def _rows(model_id):
    tasks = [make_task("uppercase", 10_000_000), make_task("flip_h", 10_000_001)]
    rows = []
    for t in tasks:
        for strategy in ("icl", "ttt"):
            rows.append({"task_hash": t.content_hash(), "task_name": t.name, "model_id": model_id,
                         "strategy": strategy, "features": {"n_demos": float(len(t.train))}})
    rows.append({"task_hash": "abc", "task_name": "my-pasted-task", "model_id": model_id, "strategy": "icl",
                 "features": {"n_demos": 2.0}})
    return tasks, rows


def test_values_are_computed_once_per_task_resumed_and_written_beside_the_old_ones(tmp_path, tiny_rt):
    tasks, rows = _rows(tiny_rt.model_id)
    log, work = _log(tmp_path, tiny_rt.model_id, rows), tmp_path / "work"
    said: list[str] = []
    skipped = backfill.compute([log], ["prompt_chars"], tiny_rt, work, (0, 1), say=said.append)
    assert skipped == {str(log): ["my-pasted-task"]}
    assert sum(1 for s in said if s.startswith("  ")) == 2               # one featurize per task, not per row
    said.clear()
    backfill.compute([log], ["prompt_chars"], tiny_rt, work, (0, 1), say=said.append)
    assert not [s for s in said if s.startswith("  ")]                  # resumed: nothing left to do
    backfill.write([log], work, tiny_rt.model_id, say=said.append)
    out = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(out) == len(rows)
    for t in tasks:
        want = featurize(t, None, names=["prompt_chars"]).values["prompt_chars"]
        got = [r["features"] for r in out if r["task_hash"] == t.content_hash()]
        assert all(f == {"n_demos": float(len(t.train)), "prompt_chars": want} for f in got)
    assert out[-1]["features"] == {"n_demos": 2.0}                     # not rebuildable: untouched
    costs = [json.loads(x) for x in costs_path(log).read_text().splitlines()]
    assert sorted(c["feature"] for c in costs) == ["counts", "prompt_chars", "prompt_chars"]


def test_shards_split_the_tasks_and_write_waits_for_all_of_them(tmp_path, tiny_rt):
    _, rows = _rows(tiny_rt.model_id)
    log, work = _log(tmp_path, tiny_rt.model_id, rows), tmp_path / "work"
    backfill.compute([log], ["prompt_chars"], tiny_rt, work, (0, 2), say=lambda s: None)
    with pytest.raises(SystemExit, match="1 tasks have no values yet"):
        backfill.write([log], work, tiny_rt.model_id, say=lambda s: None)
    backfill.compute([log], ["prompt_chars"], tiny_rt, work, (1, 2), say=lambda s: None)
    backfill.write([log], work, tiny_rt.model_id, say=lambda s: None)
    assert len(list(work.glob("*.jsonl"))) == 2


def test_another_models_log_or_a_changed_generator_is_refused(tmp_path, tiny_rt):
    _, rows = _rows("some-other-model")
    with pytest.raises(ValueError, match="rows are from"):
        backfill.compute([_log(tmp_path, "some-other-model", rows)], ["prompt_chars"], tiny_rt, tmp_path / "w",
                         (0, 1), say=lambda s: None)
    with pytest.raises(ValueError, match="generator changed"):
        backfill.rebuild("uppercase-10000000", "0" * 16)
    assert backfill.rebuild("not a family-12", "x") is None


def test_the_command_line_names_what_is_wrong(tmp_path, capsys):
    with pytest.raises(SystemExit):
        backfill.main(["--features", "no_such_feature", str(tmp_path / "x.jsonl")])
    assert "unknown ['no_such_feature']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        backfill.main(["--features", "counts", "--shard", "2/2", str(tmp_path / "x.jsonl")])
    assert "need 0 <= i < n" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        backfill.main(["--features", "counts", str(tmp_path / "missing.jsonl")])
    assert "no such file" in capsys.readouterr().err
