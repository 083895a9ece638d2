"""How many tokens to let the model generate for one answer, estimated from the demonstrations."""
from __future__ import annotations

import math

from ..serialize import render_answer
from ..task import Task, Value
from .protocol import ModelRuntime

MIN_CAP = 16
MAX_CAP = 1024   # a 30x30 grid answer is 931 tokens with SmolLM2's tokenizer; text is capped at 4000 chars


def _cells(value: Value) -> int:
    return len(value) * len(value[0]) if isinstance(value, list) else len(value)


def _shape(grid: Value) -> tuple[int, int]:
    return len(grid), len(grid[0])


def expected_shape(task: Task, query_input: Value) -> tuple[int, int] | None:
    """The query's output shape bound when a rule gives every demonstration's output shape from its
    input's: the same shape, one constant shape, the transposed shape, or the input's scaled by constant
    integer factors. Where several rules fit the demonstrations (every input and output 3x3, say) they
    may disagree on the query, so the largest rows and columns of any that fit. None when none fits
    (or for text)."""
    if task.kind != "grid":
        return None
    pairs = [(_shape(ex.input), _shape(ex.output)) for ex in task.train]
    r, c = _shape(query_input)
    fits = []
    if all(i == o for i, o in pairs):
        fits.append((r, c))
    if len({o for _, o in pairs}) == 1:
        fits.append(pairs[0][1])
    if all((i[1], i[0]) == o for i, o in pairs):
        fits.append((c, r))
    (ir, ic), (orow, ocol) = pairs[0]
    if orow % ir == 0 and ocol % ic == 0:
        fr, fc = orow // ir, ocol // ic
        if all(o == (i[0] * fr, i[1] * fc) for i, o in pairs):
            fits.append((r * fr, c * fc))
    if not fits:
        return None
    return max(f[0] for f in fits), max(f[1] for f in fits)


def answer_cap(task: Task, query_input: Value, runtime: ModelRuntime) -> int:
    """How many tokens one answer may take, within [MIN_CAP, MAX_CAP].

    Grid tasks whose demonstrations fix the output shape (`expected_shape`): the characters of that grid
    with one more row and its end marker (an upper bound on its tokens). A longer answer has the wrong
    shape for every rule the demonstrations agree on, so it is cut there instead of running on
    (measured: a view repeating rows to a 25% cap was the last row in its batch for a fifth of a grid
    follow-up's decode steps).

    Otherwise: the largest demo answer in tokens, grown by the query/demo input size ratio for grids,
    plus 25% and 8 tokens of slack. The ratio only ever grows the estimate: many tasks have a fixed
    output size, and a cap that is too high costs nothing once the answer ends, while one too low
    truncates it.
    """
    shape = expected_shape(task, query_input)
    if shape is not None:
        # characters, not tokens: every token spells at least one character, so this fits the answer
        # under any tokenizer (with one token per cell and newline, as both embedded models have,
        # it is the token count, or one more where the end marker is a single token)
        grid = [[0] * shape[1] for _ in range(shape[0] + 1)]
        return int(min(MAX_CAP, max(MIN_CAP, len(render_answer(grid, "grid")))))
    longest = 0.0
    for ex in task.train:
        n = len(runtime.encode(render_answer(ex.output, task.kind)))
        if task.kind == "grid":
            n = max(n, n * _cells(query_input) / _cells(ex.input))
        longest = max(longest, n)
    return int(min(MAX_CAP, max(MIN_CAP, math.ceil(longest * 1.25) + 8)))
