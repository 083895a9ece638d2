"""What a graph run needs but a thread does not store, as plain data: the model's name, the log's URL."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Literal

TINY = "tiny"   # model name of the random 2-layer test model: plumbing in seconds, answers are noise

_RUNTIMES: dict[str | None, Any] = {}
_LOGS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass
class Context:
    """Run settings, plain data so that LangGraph's tooling can render them; defaults work for
    `langgraph dev`, which passes no context. The loaded model comes from this process's runtimes
    (`load_runtime`, `add_runtime`); the stop signal is LangGraph's run control (controller/threads.py)."""
    model: str | None = None          # embedded model name (smollm2, gemma3-270m), a local HF folder, "tiny",
                                      # or the name an already-loaded runtime was added under (`add_runtime`)
    db: str | None = None             # outcome-log SQLAlchemy URL; None: $TTTC_DB, and no logging when unset
    features: Literal["router", "all"] = "router"   # "router": what the router reads (see graph.featurize);
                                                    # "all": every feature, for outcome rows to train on

    def get_runtime(self) -> Any:
        return load_runtime(self.model)

    def outcome_log(self) -> Any:
        """The OutcomeLog to append to, or None when no database is configured."""
        url = self.db or os.environ.get("TTTC_DB")
        if not url:
            return None
        with _LOCK:
            if url not in _LOGS:
                from controller.log import OutcomeLog
                _LOGS[url] = OutcomeLog(url)
            return _LOGS[url]


def load_runtime(model: str | None = None) -> Any:
    """One loaded runtime per model name in this process (loading takes seconds; the weights are shared)."""
    with _LOCK:
        if model not in _RUNTIMES:
            from controller import console
            console.adopt_transformers()   # its load-time warnings go to the debug log too, under the CLI
            from strategies.runtime import Runtime, tiny_runtime
            _RUNTIMES[model] = tiny_runtime() if model == TINY else Runtime.load(model)
        return _RUNTIMES[model]


def add_runtime(runtime: Any, name: str | None = None) -> str:
    """Make an already-loaded runtime the one `Context(model=name)` runs on in this process; `name`
    defaults to the runtime's model_id. Returns the name."""
    name = name or runtime.model_id
    with _LOCK:
        _RUNTIMES[name] = runtime
    return name


def loaded_runtime(model: str | None = None) -> Any | None:
    """The runtime `model` names if it is loaded already, else None (loads nothing)."""
    return _RUNTIMES.get(model)
