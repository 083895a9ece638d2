"""What a graph run needs but a thread does not store: the model, the outcome log, the stop signal."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Literal

from strategies.runtime.loaded import load_runtime
from strategies.runtime.protocol import ModelRuntime

_LOGS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass
class Context:
    """Run dependencies; defaults work for `langgraph dev`, which passes no context."""
    model: str | None = None          # embedded model name (smollm2, gemma3-270m), a local HF folder, or "tiny"
    runtime: ModelRuntime | None = None   # an already-loaded runtime; wins over `model`
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
        from strategies.settings import settings
        url = self.db or settings().db
        if not url:
            return None
        with _LOCK:
            if url not in _LOGS:
                from policies.outcomes import OutcomeLog
                _LOGS[url] = OutcomeLog(url)
            return _LOGS[url]

