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


def add_runtime(runtime: Any, name: str | None = None) -> str:
    """Make an already-loaded runtime the one `load_runtime(name)` returns in this process; `name`
    defaults to the runtime's model_id. Returns the name."""
    name = name or runtime.model_id
    with _LOCK:
        _RUNTIMES[name] = runtime
    return name


def loaded_runtime(model: str | None = None) -> Any | None:
    """The runtime `model` names if it is loaded already, else None (loads nothing)."""
    return _RUNTIMES.get(model)
