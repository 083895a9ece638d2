"""The agent: `from controller import solve, Controller` answers few-shot tasks from Python (controller/client.py)."""
from __future__ import annotations

from typing import Any

__all__ = ["Answer", "Controller", "solve"]


def __getattr__(name: str) -> Any:
    # loaded on first use: `tttc --help` imports this package and must not pull in torch or langgraph
    if name in __all__:
        from . import client as module
        return getattr(module, name)
    raise AttributeError(f"module 'controller' has no attribute {name!r}")
