"""`tttc collect`: one scored row per (task, strategy) with features, resumable, the same rows under Ray."""
from __future__ import annotations

import json

import pytest

from controller.cli import main
from policies.outcomes import OutcomeLog
from eval.collect import family_of

STRATEGIES = "icl,icl-vote"
TASKS = {
    "upper-1": {"train": [{"input": "red fox", "output": "RED FOX"}, {"input": "old tree", "output": "OLD TREE"}],
                "test": [{"input": "blue sky", "output": "BLUE SKY"}]},
    "upper-2": {"train": [{"input": "good day", "output": "GOOD DAY"}, {"input": "ab", "output": "AB"}],
                "test": [{"input": "cd", "output": "CD"}]},
    "flip-1": {"train": [{"input": [[1, 2]], "output": [[2, 1]]}, {"input": [[3, 0]], "output": [[0, 3]]}],
               "test": [{"input": [[5, 6]], "output": [[6, 5]]}]},
}


@pytest.fixture
def tasks_dir(tmp_path):
    d = tmp_path / "tasks"
    d.mkdir()
    for name, obj in TASKS.items():
        (d / f"{name}.json").write_text(json.dumps(obj))
    return d


def collect(tasks_dir, db, *extra):
    return main(["collect", str(tasks_dir), "--strategies", STRATEGIES, "--model", "tiny", "--db", db, "--quiet", *extra])


def keys(db):
    return sorted((r["task_name"], r["strategy"]) for r in OutcomeLog(db).rows())


def test_collect_logs_one_scored_row_per_task_and_strategy(tasks_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'out.db'}"
    assert collect(tasks_dir, db) == 0
    rows = OutcomeLog(db).rows()
    assert keys(db) == sorted((t, s) for t in TASKS for s in STRATEGIES.split(","))
    for r in rows:
        assert r["suite"] == str(tasks_dir) and r["family"] == r["task_name"].split("-")[0]
        assert r["model_id"] == "tiny-random-llama" and isinstance(r["correct"], bool)
        assert r["wall_s"] > 0 and r["cost"]["tokens_out"] > 0
        assert {"self_consistency", "demo_ppl", "prompt_chars", "is_grid"} <= set(r["features"])
    by_task = {}
    for r in rows:   # featurized once per task: both strategies carry the same values
        assert by_task.setdefault(r["task_hash"], r["features"]) == r["features"]


def test_collect_records_what_each_feature_cost(tasks_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'out.db'}"
    assert collect(tasks_dir, db, "--limit", "1") == 0
    means = OutcomeLog(db).feature_costs.means("tiny-random-llama")
    assert means["self_consistency"]["n"] == 1 and means["self_consistency"]["tokens_out"] > 0
    assert means["counts"]["wall_s"] >= 0


def test_a_second_run_adds_no_rows(tasks_dir, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'out.db'}"
    assert collect(tasks_dir, db) == 0
    first = OutcomeLog(db).rows()
    assert collect(tasks_dir, db) == 0
    assert len(OutcomeLog(db).rows()) == len(first) == 6
    assert "0 rows written, 6 already logged" in capsys.readouterr().out


def test_an_interrupted_run_resumes_where_it_stopped(tasks_dir, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'out.db'}"
    real = OutcomeLog.append

    def append_once_then_interrupt(self, row):
        real(self, row)
        raise KeyboardInterrupt   # Ctrl-C right after the first row is committed

    monkeypatch.setattr(OutcomeLog, "append", append_once_then_interrupt)
    assert collect(tasks_dir, db) == 130
    assert len(OutcomeLog(db).rows()) == 1
    monkeypatch.setattr(OutcomeLog, "append", real)
    assert collect(tasks_dir, db) == 0
    rows = OutcomeLog(db).rows()
    assert keys(db) == sorted((t, s) for t in TASKS for s in STRATEGIES.split(","))
    first = [r for r in rows if r["task_hash"] == rows[0]["task_hash"]]
    assert first[0]["features"] == first[1]["features"]   # the resumed task reused its logged features


def test_a_suite_source_labels_rows_with_suite_and_family(tmp_path):
    db = f"sqlite:///{tmp_path / 'out.db'}"
    assert main(["collect", "heldout", "--n-per-family", "1", "--limit", "1", "--strategies", "icl",
                 "--model", "tiny", "--db", db, "--quiet"]) == 0
    (row,) = OutcomeLog(db).rows()
    assert row["suite"] == "heldout" and row["task_name"] == f"{row['family']}-10000000"


def test_families_keeps_only_their_tasks_and_an_unknown_one_is_refused(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'out.db'}"
    assert main(["collect", "heldout", "--n-per-family", "2", "--families", "zero_pad,sum_pair", "--strategies", "icl",
                 "--model", "tiny", "--db", db, "--quiet"]) == 0
    assert sorted(r["task_name"] for r in OutcomeLog(db).rows()) == [
        "sum_pair-10000000", "sum_pair-10000001", "zero_pad-10000000", "zero_pad-10000001"]
    assert main(["collect", "heldout", "--families", "zero_pad,nope", "--db", db]) == 2
    assert "--families: unknown nope" in capsys.readouterr().err


def test_kind_keeps_only_tasks_of_that_kind(tasks_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'out.db'}"
    assert collect(tasks_dir, db, "--kind", "grid") == 0
    assert keys(db) == [("flip-1", "icl"), ("flip-1", "icl-vote")]


def test_an_unknown_strategy_fails_before_any_model_loads(tasks_dir, tmp_path, capsys, monkeypatch):
    import eval.executors
    monkeypatch.setattr(eval.executors, "worker_runtime", lambda model: pytest.fail("loaded a model"))
    assert main(["collect", str(tasks_dir), "--strategies", "icl,nope", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 1
    assert "unknown strategy 'nope'" in capsys.readouterr().err


def test_an_unknown_source_is_a_one_line_error(tmp_path, capsys):
    assert main(["collect", "no-such-suite", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 1
    assert "neither a suite" in capsys.readouterr().err


@pytest.mark.parametrize("name, family", [("rot90-10000003", "rot90"), ("upscale2_rot90-10000000", "upscale2_rot90"),
                                          ("007bbfb7", "007bbfb7"), ("my-task", "my-task")])
def test_family_is_the_name_before_the_seed(name, family):
    assert family_of(name) == family


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, object_store_memory=80 * 1024 ** 2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_executor_logs_the_same_rows_as_the_local_one(tasks_dir, tmp_path, local_ray):
    local, remote = f"sqlite:///{tmp_path / 'local.db'}", f"sqlite:///{tmp_path / 'ray.db'}"
    assert collect(tasks_dir, local, "--limit", "2") == 0
    assert collect(tasks_dir, remote, "--limit", "2", "--executor", "ray") == 0

    def content(db):
        return sorted((r["task_hash"], r["strategy"], r["model_id"], r["correct"], json.dumps(r["attempts"]),
                       r["suite"], r["family"]) for r in OutcomeLog(db).rows())
    assert len(content(remote)) == 4 and content(remote) == content(local)
    assert local_ray.is_initialized()   # a Ray instance the run did not start is left running


def test_ray_jobs_reserve_a_whole_gpu_to_train_and_a_share_to_infer():
    from eval.executors import SHARED_GPU, job_resources
    from strategies.registry import Spec
    ttt, icl = Spec("t", "ttt", {}), Spec("i", "icl", {})
    assert job_resources(ttt, gpus=True)["num_gpus"] == 1.0
    assert job_resources(icl, gpus=True)["num_gpus"] == job_resources(None, gpus=True)["num_gpus"] == SHARED_GPU
    assert job_resources(ttt, gpus=False) == {"num_cpus": 1.0, "num_gpus": 0.0}
