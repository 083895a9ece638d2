"""What a graph run needs but a thread does not store: the model, the outcome log, the stop signal."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Literal

TINY = "tiny"   # model name of the random 2-layer test model: plumbing in seconds, answers are noise

_RUNTIMES: dict[str | None, Any] = {}
_LOGS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass
class Context:
    """Run dependencies; defaults work for `langgraph dev`, which passes no context."""
    model: str | None = None          # embedded model name (smollm2, gemma3-270m), a local HF folder, or "tiny"
    runtime: Any = None               # an already-loaded strategies.runtime.Runtime; wins over `model`
    db: str | None = None             # outcome-log SQLAlchemy URL; None: $TTTC_DB, and no logging when unset
    features: Literal["router", "all"] = "router"   # "router": what the router reads (see graph.featurize);
                                                    # "all": every feature, for outcome rows to train on
    should_stop: Callable[[], bool] | None = None   # polled at every progress report; True cancels the run

    def get_runtime(self) -> Any:
        if self.runtime is None:
            self.runtime = load_runtime(self.model)
        return self.runtime

    def outcome_log(self) -> Any:
        """The OutcomeLog to append to, or None when no database is configured."""
        url = self.db or os.environ.get("TTTC_DB")
        if not url:
            return None
        with _LOCK:
            if url not in _LOGS:
                from policies.outcomes import OutcomeLog
                _LOGS[url] = OutcomeLog(url)
            return _LOGS[url]


def load_runtime(model: str | None = None) -> Any:
    """One loaded runtime per model name in this process (loading takes seconds; the weights are shared)."""
    with _LOCK:
        if model not in _RUNTIMES:
            from strategies.runtime import Runtime, tiny_runtime
            _RUNTIMES[model] = tiny_runtime() if model == TINY else Runtime.load(model)
        return _RUNTIMES[model]
