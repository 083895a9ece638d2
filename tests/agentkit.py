"""Shared pieces of the agent tests: a TTT preset small enough for the tiny model, and task messages."""
from __future__ import annotations

import json

TINY_TTT = "ttt-tiny"   # 2 optimizer steps, 2 views: exercises training, caching and voting in ~2 s
TEXT_MESSAGE = "cat -> CAT\ndog -> DOG\n? bird"


def add_tiny_ttt() -> str:
    from strategies.registry import Spec, registry
    if TINY_TTT not in registry().names():
        registry().add(Spec(TINY_TTT, "ttt", {"train": {"max_steps": 2, "eval_every": 0}, "n_views": 2},
                            help="tests only: two training steps"))
    return TINY_TTT


def grid_task(k: int = 0) -> dict:
    """A small mirror task; each `k` gives different demonstrations, so a fresh adapter cache key."""
    a, b = k % 10, (k // 10) % 10
    return {"train": [{"input": [[a, 1], [2, b]], "output": [[1, a], [b, 2]]},
                      {"input": [[3, 4], [a, 5]], "output": [[4, 3], [5, a]]}],
            "test": [{"input": [[6, 7], [8, 9]], "output": [[7, 6], [9, 8]]}]}


def grid_message(k: int = 0, strategy: str | None = None) -> str:
    return (f"use {strategy}\n" if strategy else "") + "Solve this task:\n" + json.dumps(grid_task(k))
