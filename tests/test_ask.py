"""`tttc ask`: one JSON line per task, outcomes logged with --db, a bad file reported without stopping the rest."""
import json

import pytest

from controller.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")

TASK = {"train": [{"input": "good day", "output": "GOOD DAY"}, {"input": "red fox", "output": "RED FOX"}],
        "test": [{"input": "blue sky", "output": "BLUE SKY"}]}


def test_ask_answers_good_files_logs_them_and_reports_bad_ones(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps(TASK))
    (tmp_path / "b.json").write_text('{"train": [], "test": [{"input": "x"}]}')
    db = f"sqlite:///{tmp_path / 'log.db'}"
    rc = main(["ask", str(tmp_path), "--model", "tiny", "--json", "--db", db])
    out, err = capsys.readouterr()
    assert rc == 1                                   # a bad file makes the exit non-zero
    assert "b.json: train: no demonstrations" in err and "Traceback" not in err
    (line,) = out.strip().splitlines()               # the good file was still answered
    row = json.loads(line)
    assert row["task"] == "a" and row["strategy"] == "icl" and row["correct"] in (True, False)
    assert set(row["cost"]) == {"wall_s", "tokens_in", "tokens_out", "tokens_trained", "flops", "decide_s"}
    assert row["model"] == "tiny-random-llama" and row["adapter"] is None   # the row names what answered
    from policies.outcomes import OutcomeLog
    logged = OutcomeLog(db).rows()
    assert [r["query_id"] for r in logged] == [row["query_id"]] and logged[0]["route_reason"] is None


def test_ask_refuses_an_unknown_strategy_before_loading_a_model(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps(TASK))
    assert main(["ask", str(tmp_path / "a.json"), "--strategy", "nope"]) == 1
    assert "unknown strategy 'nope'" in capsys.readouterr().err
