"""The model runtime: loading (models.py, runtime.py), precision, decoding (decode.py, speculative.py, lookup.py),
the decode and prompt key/value caches, answer caps, and the Protocol strategies type a runtime with.

The names below load on first use, so that importing a light module of this package (protocol, caps)
does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"Runtime": "runtime", "Generation": "runtime", "tiny_runtime": "runtime", "pick_device": "runtime",
         "draft_width_from_env": "runtime", "load_runtime": "loaded", "TINY": "loaded",
         "ModelRuntime": "protocol"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
