"""The Python API: `solve` and `Controller` answer through the graph, from a dict, a path or a Task; the README's example runs."""
import json
import re
from pathlib import Path

import pytest

from controller import Answer, Controller, solve
from strategies.task import TaskError

pytestmark = pytest.mark.usefixtures("one_thread")

README = Path(__file__).resolve().parents[1] / "README.md"
TASK = {"train": [{"input": "good day", "output": "GOOD DAY"}, {"input": "red fox", "output": "RED FOX"}],
        "test": [{"input": "blue sky", "output": "BLUE SKY"}, {"input": "old tree"}]}


def test_solve_routes_a_dict_task_and_returns_the_answer_with_its_reason_and_cost(tiny_rt):
    answer = Controller(runtime=tiny_rt).solve(TASK)
    assert isinstance(answer, Answer)
    assert answer.strategy == "icl" and not answer.forced   # the default rule sends text to ICL
    assert "text" in answer.reason
    assert len(answer.answers) == 2 and answer.answers == [a[0] for a in answer.attempts]
    assert answer.cost.wall_s > 0 and answer.cost.tokens_in > 0
    assert 0.0 <= answer.confidence <= 1.0
    assert answer.model == "tiny-random-llama" and answer.adapter is None
    assert answer.correct is None          # the second query has no output, so the task is unscored


def test_a_forced_strategy_is_reported_as_the_users_choice(tiny_rt):
    answer = Controller(runtime=tiny_rt, strategy="zero-shot").solve(TASK)
    assert answer.strategy == "zero-shot" and answer.forced and answer.reason == "chosen by the user"


def test_a_path_and_a_task_give_the_same_answer_as_the_dict(tiny_rt, tmp_path):
    from strategies.task import task_from_obj
    path = tmp_path / "upper.json"
    path.write_text(json.dumps(TASK))
    controller = Controller(runtime=tiny_rt, strategy="icl")
    from_dict = controller.solve(TASK)
    from_path = controller.solve(path)
    from_task = controller.solve(task_from_obj(TASK, "upper"))
    assert from_dict.attempts == from_path.attempts == from_task.attempts
    assert from_path.task == from_task.task == "upper"


def test_solve_logs_the_answer_when_given_a_database(tiny_rt, tmp_path):
    from policies.outcomes import OutcomeLog
    db = f"sqlite:///{tmp_path / 'log.db'}"
    answer = Controller(runtime=tiny_rt, strategy="icl", db=db).solve(TASK)
    assert [r["query_id"] for r in OutcomeLog(db).rows()] == [answer.query_id]


def test_a_bad_task_is_a_task_error_naming_the_place():
    with pytest.raises(TaskError, match=r"train\[0\]"):
        solve({"train": [{"input": "x"}], "test": [{"input": "y"}]})
    with pytest.raises(TypeError, match="a Task, a dict or a path"):
        solve(42)


def test_the_readme_example_runs(monkeypatch, tmp_path, capsys):
    block = re.search(r"### From Python\n.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.setenv("TTTC_MODEL", "tiny")   # the same code; the random model keeps it to seconds
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("['")   # answers, cost and model, then two tasks' answers
    assert "tiny-random-llama None" in lines[1]
