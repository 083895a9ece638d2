"""One query path: `tttc ask` and /v1/solve hand the same task to the same graph and log the same row."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from controller.api.server import create_app
from controller.cli import main
from policies.outcomes import OutcomeLog

pytestmark = pytest.mark.usefixtures("one_thread")

TASK = {"train": [{"input": "good day", "output": "GOOD DAY"}, {"input": "red fox", "output": "RED FOX"}],
        "test": [{"input": "blue sky", "output": "BLUE SKY"}]}


def test_ask_and_solve_log_rows_with_the_same_columns_and_features(tmp_path, capsys):
    path = tmp_path / "upper.json"
    path.write_text(json.dumps(TASK))
    ask_db, solve_db = f"sqlite:///{tmp_path / 'ask.db'}", f"sqlite:///{tmp_path / 'solve.db'}"
    assert main(["ask", str(path), "--strategy", "icl", "--model", "tiny", "--json", "--db", ask_db]) == 0
    asked = json.loads(capsys.readouterr().out.strip())
    app = create_app(model="tiny", db=solve_db, threads=str(tmp_path / "threads.sqlite"), preload=False)
    with TestClient(app) as client:
        r = client.post("/v1/solve", json={"task": {**TASK, "name": "upper"}, "strategy": "icl"})
    assert r.status_code == 200, r.text
    solved = r.json()
    (a,), (s,) = OutcomeLog(ask_db).rows(), OutcomeLog(solve_db).rows()
    assert set(a) == set(s)
    assert a["features"] and set(a["features"]) == set(s["features"]) == set(solved["features"])
    assert a["features"] == s["features"]             # the same task: the same model-free feature values
    for row, answered in ((a, asked), (s, solved)):
        assert row["query_id"] == answered["query_id"] and row["strategy"] == "icl" and row["route_reason"] is None
        assert row["task_name"] == "upper" and row["task_hash"] == a["task_hash"]
    assert a["attempts"] == s["attempts"] == asked["attempts"] == solved["attempts"]   # greedy: the same answer
    ask_costs, solve_costs = OutcomeLog(ask_db).feature_costs.means(), OutcomeLog(solve_db).feature_costs.means()
    assert ask_costs and set(ask_costs) == set(solve_costs)   # what each feature cost, logged by both doors


def test_a_task_given_as_data_that_does_not_validate_is_a_reply_not_an_answer():
    from controller.graph import graph
    from controller.threads import run_turn
    state = run_turn(graph, None, None, None, strategy="icl", task_input={"train": [], "test": [{"input": "x"}]})
    assert state["result"] is None and "does not validate: train: no demonstrations" in state["reply"]
