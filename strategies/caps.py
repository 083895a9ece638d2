"""How many tokens to let the model generate for one answer, estimated from the demonstrations."""
from __future__ import annotations

import math
from typing import Any

from .serialize import render_answer
from .task import Task, Value

MIN_CAP = 16
MAX_CAP = 1024   # a 30x30 grid answer is 931 tokens with SmolLM2's tokenizer; text is capped at 4000 chars


def _cells(value: Value) -> int:
    return len(value) * len(value[0]) if isinstance(value, list) else len(value)


def answer_cap(task: Task, query_input: Value, runtime: Any) -> int:
    """The largest demo answer in tokens, grown by the query/demo input size ratio for grids,
    plus 25% and 8 tokens of slack, within [MIN_CAP, MAX_CAP].

    The ratio only ever grows the estimate: many tasks have a fixed output size, and a cap that is
    too high costs nothing once the answer ends, while one too low truncates it.
    """
    longest = 0.0
    for ex in task.train:
        n = len(runtime.encode(render_answer(ex.output, task.kind)))
        if task.kind == "grid":
            n = max(n, n * _cells(query_input) / _cells(ex.input))
        longest = max(longest, n)
    return int(min(MAX_CAP, max(MIN_CAP, math.ceil(longest * 1.25) + 8)))
