"""The progress bar: drawn over several tasks on a terminal; never for --json or piped output."""
import json

import pytest

from controller import progress
from controller.progress import Bar

pytestmark = pytest.mark.usefixtures("one_thread")
TASK = {"train": [{"input": "ab", "output": "AB"}], "test": [{"input": "cd", "output": "CD"}]}


def test_a_live_bar_counts_items_and_names_the_running_one():
    bar = Bar(2, "ask", live=True)
    bar.describe("first")
    bar.update()
    (task,) = bar._progress.tasks
    assert task.completed == 1 and task.total == 2 and task.description == "ask: first"
    bar.close()
    assert bar._progress is None


def test_off_the_terminal_there_is_no_bar_and_lines_print_plainly(capsys):
    bar = Bar(5, "ask")   # pytest's stdout is not a terminal
    bar.describe("x")
    bar.update()
    bar.write("one line")
    bar.close()
    assert bar._progress is None and capsys.readouterr().out == "one line\n"


class Recorder(Bar):
    made: list = []

    def __init__(self, total, label, live=None):
        super().__init__(total, label, live=False)   # record the choice; draw nothing under pytest
        self.total, self.wanted, self.updates = total, live, 0
        Recorder.made.append(self)

    def update(self, n=1):
        self.updates += n


@pytest.fixture
def two_tasks(tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(TASK))
    Recorder.made = []
    monkeypatch.setattr(progress, "Bar", Recorder)
    return tmp_path


def test_ask_on_a_terminal_over_several_tasks_draws_a_bar(two_tasks, monkeypatch, capsys):
    from controller.cli import main
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["ask", str(two_tasks), "--model", "tiny"]) == 0
    (bar,) = Recorder.made
    assert bar.wanted is True and bar.total == 2 and bar.updates == 2
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_ask_in_json_mode_draws_no_bar_even_on_a_terminal(two_tasks, monkeypatch, capsys):
    from controller.cli import main
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["ask", str(two_tasks), "--model", "tiny", "--json"]) == 0
    (bar,) = Recorder.made
    assert bar.wanted is False
    assert [json.loads(line)["task"] for line in capsys.readouterr().out.splitlines()] == ["a", "b"]
