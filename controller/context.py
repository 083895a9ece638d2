"""What a graph run needs but a thread does not store, as plain data: the model's name, the log's URL."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from strategies.runtime.loaded import TINY, add_runtime, loaded_runtime
from strategies.runtime.loaded import load_runtime as _load
from strategies.runtime.protocol import ModelRuntime

_LOGS: dict[str, Any] = {}
_LOCK = threading.Lock()

__all__ = ["TINY", "Context", "add_runtime", "load_runtime", "loaded_runtime"]


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

    def get_runtime(self) -> ModelRuntime:
        return load_runtime(self.model)

    def outcome_log(self) -> Any:
        """The OutcomeLog to append to, or None when no database is configured."""
        from strategies.settings import settings
        url = self.db or settings().db
        if not url:
            return None
        with _LOCK:
            if url not in _LOGS:
                from policies.outcomes import OutcomeLog
                _LOGS[url] = OutcomeLog(url)
            return _LOGS[url]


def load_runtime(model: str | None = None) -> ModelRuntime:
    """The process's runtime of `model` (strategies/runtime/loaded.py), with transformers' load-time
    warnings sent to the debug log as the CLI's are (controller/console.py)."""
    if loaded_runtime(model) is None:
        from controller import console
        console.adopt_transformers()
    return _load(model)
