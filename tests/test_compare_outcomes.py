"""eval/compare_outcomes.py: same-task outcomes of two logs, strategy by strategy; bad files are named."""
import json

import pytest

from eval.compare_outcomes import main


def _row(task: str, strategy: str, correct: bool, attempts, secs: float) -> str:
    return json.dumps({"task_hash": task, "strategy": strategy, "correct": correct, "attempts": attempts,
                       "cost": {"wall_s": secs}, "model_id": "m"})


def test_counts_only_the_pairs_both_logs_hold(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join([_row("t1", "icl", True, [["x"]], 1.0), _row("t2", "icl", False, [["y"]], 3.0),
                            _row("t3", "ttt", True, [["z"]], 9.0)]) + "\n")
    b.write_text("\n".join([_row("t1", "icl", True, [["x"]], 0.5), _row("t2", "icl", True, [["w"]], 1.5)]) + "\n")
    out = tmp_path / "cmp.json"
    assert main([str(a), str(b), "--out", str(out)]) == 0
    icl = json.loads(out.read_text())["strategies"]["icl"]
    assert icl == {"tasks": 2, "correct_a": 1, "correct_b": 2, "correct_both": 1, "same_attempts": 1,
                   "median_s_a": 2.0, "median_s_b": 1.0, "mean_s_a": 2.0, "mean_s_b": 1.0}
    assert "ttt" not in json.loads(out.read_text())["strategies"]


def test_a_missing_or_malformed_log_is_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_hash": "t1"}\n')
    with pytest.raises(SystemExit, match="bad.jsonl:1: not an exported outcome row"):
        main([str(bad), str(bad)])
    with pytest.raises(SystemExit, match="nope.jsonl: cannot read it"):
        main([str(tmp_path / "nope.jsonl"), str(bad)])
