"""The BBH suite's plumbing on the tiny model: one row per (query, strategy), resumable, widenable, exportable."""
import json
from pathlib import Path

import pytest

from eval.bbh import load_bbh, main, run_suite, split_result
from policies.outcomes import OutcomeLog
from strategies.base import Result
from strategies.bigbench import Sampling
from strategies.cost import Cost

BBH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbh"
pytestmark = pytest.mark.skipif(not BBH.is_dir(), reason="needs ../shared/data/bbh")


def test_split_shares_the_cost_and_keeps_each_querys_attempts():
    [task] = load_bbh(BBH, Sampling(demos=3, queries=2), ["navigate"])
    res = Result(strategy="icl", attempts=[["Yes"], ["No"]], cost=Cost(wall_s=4.0, tokens_in=10))
    parts = split_result(task, res)
    assert [r.attempts for _, r in parts] == [[["Yes"]], [["No"]]]
    assert [r.cost.wall_s for _, r in parts] == [2.0, 2.0] and parts[0][1].cost.tokens_in == 5
    assert parts[0][0].train == task.train and parts[0][0].test == task.test[:1]
    assert len({q.content_hash() for q, _ in parts}) == 2


def test_suite_logs_resumes_and_widens(tmp_path, tiny_rt):
    url = f"sqlite:///{tmp_path}/bbh.db"
    names = ["boolean_expressions", "navigate"]
    with OutcomeLog(url) as log:
        tasks = load_bbh(BBH, Sampling(demos=3, queries=2), names)
        assert run_suite(tasks, ["zero-shot", "icl"], tiny_rt, log, features=["counts", "prompt_chars"],
                         say=lambda _: None) == 8
        assert run_suite(tasks, ["zero-shot", "icl"], tiny_rt, log, say=lambda _: None) == 0   # resumed: nothing new
        wider = load_bbh(BBH, Sampling(demos=3, queries=3), names)
        assert run_suite(wider, ["icl"], tiny_rt, log, say=lambda _: None) == 2              # the third query only
        assert {r["task_name"] for r in log.rows(strategy="icl")} == {f"{n}/{i}" for n in names for i in range(3)}
        rows = log.rows()
        assert {r["family"] for r in rows} == set(names) and {r["suite"] for r in rows} == {"bbh"}
        assert all(r["correct"] in (True, False) and len(r["attempts"]) == 1 for r in rows)
        assert all(set(r["features"]) >= {"n_demos", "prompt_chars"} for r in rows)
        # the features ran once, shared over the first run's two queries each; widening reads them back
        assert log.feature_costs.means()["prompt_chars"]["n"] == 4


def test_command_refuses_bad_input_with_one_line(tmp_path, capsys):
    assert main(["--db", f"sqlite:///{tmp_path}/x.db", "--tasks", "no_such_task", "--data", str(BBH)]) == 2
    assert main(["--db", f"sqlite:///{tmp_path}/x.db", "--strategies", "nope", "--data", str(BBH)]) == 2
    assert main(["--db", f"sqlite:///{tmp_path}/x.db", "--demos", "0", "--data", str(BBH)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "no_such_task" in err[0] and "nope" in err[1]


def test_command_exports_the_suite(tmp_path):
    out = tmp_path / "bbh.jsonl"
    assert main(["--db", f"sqlite:///{tmp_path}/x.db", "--model", "tiny", "--tasks", "navigate", "--demos", "2",
                 "--queries", "2", "--strategies", "icl", "--features", "counts", "--export", str(out),
                 "--data", str(BBH)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and out.with_suffix(".feature-costs.jsonl").exists()


def test_jobs_share_out_the_tasks_and_log_what_one_process_would(tmp_path):
    args = ["--model", "tiny", "--tasks", "navigate,snarks", "--demos", "2", "--queries", "2", "--strategies", "icl",
            "--features", "counts", "--data", str(BBH)]
    assert main(["--db", f"sqlite:///{tmp_path}/one.db", *args]) == 0
    out = tmp_path / "two.jsonl"
    assert main(["--db", f"sqlite:///{tmp_path}/two.db", "--jobs", "2", "--export", str(out), *args]) == 0

    def logged(db):
        with OutcomeLog(f"sqlite:///{db}") as log:
            return sorted((r["family"], r["task_hash"], r["strategy"]) for r in log.rows())
    assert logged(tmp_path / "two.db") == logged(tmp_path / "one.db") and len(logged(tmp_path / "one.db")) == 4
    assert len(out.read_text().splitlines()) == 4


def test_jobs_must_be_at_least_one(tmp_path):
    assert main(["--db", f"sqlite:///{tmp_path}/x.db", "--jobs", "0", "--data", str(BBH)]) == 2
