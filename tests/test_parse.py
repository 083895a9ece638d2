"""Chat parsing: tasks, follow-ups, strategy choices and helpful replies (no model, no torch)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from controller.parse import FORMATS, parse_message, replay
from strategies.task import task_from_obj

NAMES = ["icl", "icl-vote", "ttt", "ttt-max"]
GRID = {"train": [{"input": [[1, 2]], "output": [[2, 1]]}, {"input": [[3, 4]], "output": [[4, 3]]}],
        "test": [{"input": [[5, 6]]}]}


@pytest.fixture
def text_thread():
    return task_from_obj({"train": [{"input": "cat", "output": "CAT"}, {"input": "dog", "output": "DOG"}],
                          "test": [{"input": "bird"}]}, name="upper")


def test_arc_json_anywhere_in_the_message_is_a_new_task():
    p = parse_message(f"Here is one:\n```json\n{json.dumps(GRID)}\n```\nthanks", None, NAMES)
    assert p.action == "solve" and p.task.kind == "grid"
    assert p.task.test[0].input == [[5, 6]] and len(p.task.train) == 2
    assert "new grid task" in p.note


def test_text_demonstrations_and_query_lines_make_a_text_task():
    p = parse_message("Some words first.\ncat -> CAT\ndog → DOG\n? bird\n? cow", None, NAMES)
    assert p.action == "solve" and p.task.kind == "text"
    assert [(e.input, e.output) for e in p.task.train] == [("cat", "CAT"), ("dog", "DOG")]
    assert [e.input for e in p.task.test] == ["bird", "cow"]


def test_json_grid_sides_make_a_grid_task():
    p = parse_message("[[1,2]] -> [[2,1]]\n[[3,4]] -> [[4,3]]\n? [[5,6]]", None, NAMES)
    assert p.task.kind == "grid" and p.task.test[0].input == [[5, 6]]


def test_solve_these_with_demo_lines_is_a_task_not_a_query():
    p = parse_message("solve these:\ncat -> CAT\n? bird", None, NAMES)
    assert p.task.train[0].input == "cat" and p.task.test[0].input == "bird"


def test_now_solve_this_input_replaces_the_queries_and_keeps_the_demos(text_thread):
    p = parse_message("now solve this input: fish", text_thread, NAMES)
    assert p.action == "solve" and [e.input for e in p.task.test] == ["fish"]
    assert p.task.train == text_thread.train and p.task.name == "upper"


def test_query_lines_alone_are_new_queries_on_the_thread_task(text_thread):
    p = parse_message("? fish\n? eel", text_thread, NAMES)
    assert [e.input for e in p.task.test] == ["fish", "eel"] and p.task.train == text_thread.train


def test_grid_follow_up_reads_a_json_grid():
    task = task_from_obj(GRID)
    p = parse_message("now solve this input: [[7, 8]]", task, NAMES)
    assert p.task.test[0].input == [[7, 8]]


def test_grid_follow_up_that_is_not_a_grid_gets_a_reply():
    p = parse_message("now solve this input: seven", task_from_obj(GRID), NAMES)
    assert p.action == "reply" and "JSON grid" in p.reply


def test_add_this_example_appends_a_demonstration(text_thread):
    p = parse_message("add this example: fish -> FISH", text_thread, NAMES)
    assert p.action == "solve" and len(p.task.train) == 3 and p.task.train[-1].output == "FISH"
    assert p.task.test == text_thread.test and p.note == "added 1 example"


def test_use_strategy_pins_it_and_solves_again(text_thread):
    p = parse_message("use ttt-max", text_thread, NAMES)
    assert p.action == "solve" and p.strategy == "ttt-max" and p.task == text_thread


def test_use_strategy_before_any_task_is_remembered_with_a_reply():
    p = parse_message("please use the icl strategy", None, NAMES)
    assert p.action == "reply" and p.strategy == "icl" and "send a task" in p.reply


def test_use_line_can_come_with_a_task():
    p = parse_message("use icl-vote\ncat -> CAT\n? dog", None, NAMES)
    assert p.action == "solve" and p.strategy == "icl-vote" and p.task.test[0].input == "dog"


def test_unknown_strategy_lists_the_valid_ones():
    p = parse_message("use ttt-ultra", None, NAMES)
    assert p.action == "reply" and "ttt-ultra" in p.reply and "icl-vote" in p.reply


@pytest.mark.parametrize("message", ["hello", "", "what is 2+2", "cat - CAT"])
def test_unparseable_messages_get_the_accepted_formats(message):
    p = parse_message(message, None, NAMES)
    assert p.action == "reply" and FORMATS in p.reply


def test_invalid_task_json_names_the_place():
    bad = {"train": [{"input": [[1, 2]], "output": [[2, 11]]}], "test": [{"input": [[1]]}]}
    p = parse_message(json.dumps(bad), None, NAMES)
    assert p.action == "reply" and "train[0].output" in p.reply and "0..9" in p.reply


def test_broken_json_says_so():
    p = parse_message('{"train": [', None, NAMES)
    assert p.action == "reply" and "not valid JSON" in p.reply


@pytest.mark.parametrize("message", ["now solve this input: x", "add this example: a -> b", "? x"])
def test_follow_ups_without_a_task_explain_what_is_missing(message):
    p = parse_message(message, None, NAMES)
    assert p.action == "reply" and "no task" in p.reply


def test_demonstrations_without_a_query_ask_for_one():
    p = parse_message("cat -> CAT\ndog -> DOG", None, NAMES)
    assert p.action == "reply" and "? input" in p.reply


def test_oversized_text_is_refused_with_the_limit():
    p = parse_message(f"{'x' * 5000} -> y\n? z", None, NAMES)
    assert p.action == "reply" and "limit" in p.reply


def test_replay_rebuilds_the_task_from_earlier_messages():
    task = replay(["cat -> CAT\n? dog", "add this example: eel -> EEL", "hi"], NAMES)
    assert [e.input for e in task.train] == ["cat", "eel"] and task.test[0].input == "dog"


def test_parsing_and_the_graph_module_do_not_import_torch():
    code = ("import sys, controller.parse, controller.graph, controller.api.server, controller.cli.dispatch; "
            "controller.cli.dispatch.build_parser(); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
