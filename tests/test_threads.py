"""Threads: a thread keeps its task and strategy, survives a restart, and a follow-up reuses the adapter."""
from __future__ import annotations

import pytest
from agentkit import TEXT_MESSAGE, add_tiny_ttt, grid_message

from controller.context import TINY, Context
from controller.graph import Cancelled, compile_graph
from controller.threads import open_checkpointer, run_turn, thread_state


@pytest.fixture
def ctx(tiny_rt):
    return Context(model=TINY)


def test_a_follow_up_answers_on_the_thread_task(tmp_path, ctx):
    graph = compile_graph(open_checkpointer(str(tmp_path / "t.sqlite")))
    run_turn(graph, "a", TEXT_MESSAGE, ctx)
    state = run_turn(graph, "a", "now solve this input: cow", ctx)
    assert [e["input"] for e in state["task"]["train"]] == ["cat", "dog"]
    assert state["task"]["test"][0]["input"] == "cow" and state["result"] is not None


def test_threads_are_separate(tmp_path, ctx):
    graph = compile_graph(open_checkpointer(str(tmp_path / "t.sqlite")))
    run_turn(graph, "a", TEXT_MESSAGE, ctx)
    state = run_turn(graph, "b", "now solve this input: cow", ctx)
    assert state["result"] is None and "no task" in state["reply"]


def test_a_thread_survives_a_restart(tmp_path, ctx):
    path = str(tmp_path / "t.sqlite")
    run_turn(compile_graph(open_checkpointer(path)), "a", "use icl-vote\n" + TEXT_MESSAGE, ctx)
    fresh = compile_graph(open_checkpointer(path))   # a new process would build exactly this
    assert thread_state(fresh, "a")["task"]["train"][0]["input"] == "cat"
    state = run_turn(fresh, "a", "? cow", ctx)
    assert state["result"]["strategy"] == "icl-vote"   # the `use` choice was kept too
    assert state["task"]["test"][0]["input"] == "cow"


def test_a_follow_up_reuses_the_trained_adapter(tmp_path, ctx):
    name = add_tiny_ttt()
    graph = compile_graph(open_checkpointer(str(tmp_path / "t.sqlite")))
    first_events, second_events = [], []
    first = run_turn(graph, "a", grid_message(11, name), ctx, on_event=first_events.append)
    second = run_turn(graph, "a", "now solve this input: [[1, 2], [3, 4]]", ctx, on_event=second_events.append)
    assert first["result"]["info"]["cache_hit"] is False and first["result"]["cost"]["tokens_trained"] > 0
    assert second["result"]["info"]["cache_hit"] is True and second["result"]["cost"]["tokens_trained"] == 0
    assert not [e for e in second_events if e["stage"] == "training"]
    assert "Reused the adapter" in second["reply"]


def test_a_cancelled_turn_leaves_the_thread_usable(tmp_path, ctx):
    name = add_tiny_ttt()
    graph = compile_graph(open_checkpointer(str(tmp_path / "t.sqlite")))
    with pytest.raises(Cancelled):
        run_turn(graph, "a", grid_message(13, name), ctx, should_stop=lambda: True)
    state = run_turn(graph, "a", "use icl\n" + TEXT_MESSAGE, ctx)
    assert state["result"]["strategy"] == "icl"


def test_earlier_messages_rebuild_the_task_of_a_new_thread(tmp_path, ctx):
    graph = compile_graph(open_checkpointer(str(tmp_path / "t.sqlite")))
    state = run_turn(graph, "new", "now solve this input: cow", ctx, earlier=[TEXT_MESSAGE])
    assert state["task"]["test"][0]["input"] == "cow" and state["result"] is not None


def test_sqlite_url_form_is_accepted(tmp_path, ctx):
    graph = compile_graph(open_checkpointer(f"sqlite:///{tmp_path / 'u.sqlite'}"))
    run_turn(graph, "a", TEXT_MESSAGE, ctx)
    assert (tmp_path / "u.sqlite").exists()


def test_postgres_without_the_extra_says_how_to_install_it():
    pytest.importorskip("langgraph.checkpoint.sqlite")
    try:
        import langgraph.checkpoint.postgres  # noqa: F401
        pytest.skip("the postgres extra is installed")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match=r"ttt-controller\[postgres\]"):
        open_checkpointer("postgresql://localhost/tttc")
