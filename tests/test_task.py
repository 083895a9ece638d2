"""Task validation: good input loads; each kind of bad input gets an error that names the place."""
import json

import pytest

from strategies.task import (MAX_FILE_BYTES, MAX_TEXT_CHARS, Prediction, TaskError, load_task, score,
                             task_from_json, task_from_obj)

GOOD = {"train": [{"input": [[1, 2], [3, 4]], "output": [[4, 3], [2, 1]]}], "test": [{"input": [[0, 1], [1, 0]]}]}


def bad(**over):
    d = json.loads(json.dumps(GOOD))
    d.update(over)
    return d


def test_good_grid_task_loads():
    t = task_from_obj(GOOD)
    assert t.kind == "grid" and len(t.train) == 1 and t.test[0].output is None and not t.has_answers


def test_good_text_task_loads():
    t = task_from_obj({"train": [{"input": "a", "output": "A"}], "test": [{"input": "b", "output": "B"}]})
    assert t.kind == "text" and t.has_answers


@pytest.mark.parametrize("obj, message", [
    (bad(train=[{"input": [[1, 2], [3]], "output": [[1]]}]), "train[0].input: row 1 has 1 cells, row 0 has 2"),
    (bad(train=[{"input": [[1, 2]], "output": [[1, 12]]}]), "train[0].output: cell (0,1) is 12, colours must be 0..9"),
    (bad(train=[{"input": [[1, -1]], "output": [[1]]}]), "train[0].input: cell (0,1) is -1"),
    (bad(train=[{"input": [], "output": [[1]]}]), "train[0].input: grid is empty"),
    (bad(train=[{"input": [[]], "output": [[1]]}]), "train[0].input: row 0 is empty"),
    (bad(train=[{"input": [[0] * 31], "output": [[1]]}]), "train[0].input: grid has 31 columns, the limit is 30"),
    (bad(train=[{"input": [[0]] * 31, "output": [[1]]}]), "train[0].input: grid has 31 rows, the limit is 30"),
    (bad(train=[]), "train: no demonstrations"),
    (bad(test=[]), "test: no test inputs"),
    (bad(train=[{"input": "abc", "output": [[1]]}]), "train[0].output: is grid but train[0].input is text"),
    (bad(train=[{"input": [[1, "2"]], "output": [[1]]}]), "train[0].input: cell (0,1) is '2'"),
    (bad(train=[{"input": [[1, 2.5]], "output": [[1]]}]), "train[0].input: cell (0,1) is 2.5"),
    (bad(train=[{"input": [[True]], "output": [[1]]}]), "train[0].input: cell (0,0) is True"),
    (bad(train=[{"input": [[1]]}]), "train[0]: missing 'output'"),
    (bad(test=[{"output": [[1]]}]), "test[0]: missing 'input'"),
    (bad(train={"input": [[1]]}), "train: expected a list of examples, got dict"),
    (bad(train=[{"input": 5, "output": [[1]]}]), "train[0].input: expected a grid (list of rows) or a string, got int"),
    (bad(train=[{"input": "x" * (MAX_TEXT_CHARS + 1), "output": "y"}]), "train[0].input: text has"),
    (bad(train=[{"input": [[1]], "output": [[1]], "extra": 1}]), "train[0]: unknown key(s) ['extra']"),
    ({"train": GOOD["train"]}, "missing 'test'"),
    ([1, 2], "expected a JSON object"),
    (bad(train=[{"input": [[1]], "output": [[1]]}] * 33), "train: 33 examples, the limit is 32"),
])
def test_bad_input_names_the_place(obj, message):
    with pytest.raises(TaskError) as e:
        task_from_obj(obj)
    assert message in str(e.value)


def test_not_json_is_reported():
    with pytest.raises(TaskError, match="not valid JSON"):
        task_from_json("{train: ")


def test_oversized_input_is_refused():
    with pytest.raises(TaskError, match="limit for one task"):
        task_from_json(" " * (MAX_FILE_BYTES + 1))


def test_load_task_prefixes_the_file(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text(json.dumps(bad(train=[{"input": [[1, 2], [3]], "output": [[1]]}])))
    with pytest.raises(TaskError, match=r"broken.json: train\[0\].input: row 1"):
        load_task(p)
    with pytest.raises(TaskError, match="cannot read"):
        load_task(tmp_path / "missing.json")


def test_scoring_is_exact_match_pass_at_2():
    t = task_from_obj({"train": GOOD["train"], "test": [{"input": [[1]], "output": [[2]]}]})
    assert score(t, Prediction(attempts=[[[[3]], [[2]]]])) is True
    assert score(t, Prediction(attempts=[[[[3]], [[4]], [[2]]]])) is False  # a third attempt does not count
    assert score(t, Prediction(attempts=[[]])) is False
    assert score(task_from_obj(GOOD), Prediction(attempts=[[[[1]]]])) is None


def test_content_hash_ignores_name_and_test_outputs():
    a = task_from_obj(GOOD, name="a")
    b = task_from_obj({**GOOD, "test": [{"input": [[0, 1], [1, 0]], "output": [[1]]}]}, name="b")
    assert a.content_hash() == b.content_hash()
