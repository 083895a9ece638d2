"""One loaded runtime per model name in this process: loading takes seconds, and the weights are shared."""
from __future__ import annotations

import threading
from typing import Any

TINY = "tiny"   # model name of the random 2-layer test model: plumbing in seconds, answers are noise

_RUNTIMES: dict[str | None, Any] = {}
_LOCK = threading.Lock()


def load_runtime(model: str | None = None) -> Any:
    """The runtime of `model` (an embedded name, a local HF folder, "tiny", or None: $TTTC_MODEL, then the
    default model), loaded on first use and kept."""
    if model is None:
        from ..settings import settings
        model = settings().model   # still None: the default model; "tiny" from the environment too
    with _LOCK:
        if model not in _RUNTIMES:
            from .runtime import Runtime, tiny_runtime
            _RUNTIMES[model] = tiny_runtime() if model == TINY else Runtime.load(model)
        return _RUNTIMES[model]
