"""Threads: the checkpointer that keeps each conversation's task, and one turn on a thread."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable

from langgraph.runtime import RunControl

STREAM_MODES = ["custom", "values"]   # progress events, and the state after each step


def open_checkpointer(where: str | None = None) -> Any:
    """SqliteSaver on a file (a path or sqlite:/// URL; default $TTTC_THREAD_DB, then tttc_threads.sqlite),
    or PostgresSaver for a postgres:// URL (needs the `postgres` extra)."""
    from strategies.settings import settings
    where = where or settings().thread_store()
    if where.startswith(("postgres://", "postgresql://")):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg import Connection
            from psycopg.rows import dict_row
        except ImportError:
            raise RuntimeError("a postgres thread store needs: pip install 'ttt-controller[postgres]'") from None
        conn = Connection.connect(where, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        saver = PostgresSaver(conn)
        saver.setup()
        return saver
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(where.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    # one connection shared by the API's threads: SqliteSaver serialises its use with a lock
    return SqliteSaver(sqlite3.connect(path, check_same_thread=False))


class StopControl(RunControl):
    """LangGraph's run control, asked to drain as soon as `should_stop()` says so: the graph stops
    before its next node, and a training node polls it every step (graph._run)."""
    __slots__ = ("_should_stop",)

    def __init__(self, should_stop: Callable[[], bool] | None = None):
        super().__init__()
        self._should_stop = should_stop

    @property
    def drain_requested(self) -> bool:
        if not super().drain_requested and self._should_stop is not None and self._should_stop():
            self.request_drain("stopped")
        return super().drain_requested


def run_turn(graph: Any, thread_id: str | None, message: str | None, context: Any, strategy: str | None = None,
             earlier: list[str] | None = None, on_event: Callable[[dict[str, Any]], None] | None = None,
             task_input: dict[str, Any] | None = None,
             should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Run one message, or one task given as data (`task_input`), on a thread (None: a graph without a
    checkpointer, nothing kept); progress events go to `on_event`; returns the thread's state after it.
    `should_stop` is polled between nodes and at every progress report; True ends the run (Cancelled)."""
    from langgraph.errors import GraphDrained

    from controller.graph import Cancelled

    config = {"configurable": {"thread_id": thread_id}} if thread_id is not None else {}
    turn: dict[str, Any] = {"message": message or "", "strategy": strategy}
    if task_input is not None:
        turn["task_input"] = task_input
    if earlier:
        turn["earlier"] = list(earlier)
    state: dict[str, Any] = {}
    try:
        for mode, data in graph.stream(turn, config, context=context, stream_mode=STREAM_MODES,
                                       control=StopControl(should_stop)):
            if mode == "custom" and on_event:
                on_event(data)
            elif mode == "values":
                state = data
    except GraphDrained as e:
        raise Cancelled(f"the run was stopped between steps ({e})") from None
    return state


def thread_state(graph: Any, thread_id: str) -> dict[str, Any]:
    """What a thread holds now (empty for a thread never used)."""
    return dict(graph.get_state({"configurable": {"thread_id": thread_id}}).values)
