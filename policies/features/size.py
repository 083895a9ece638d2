"""Size statistics: cheap features read straight off the task (prompt_tokens alone needs the tokenizer)."""
from __future__ import annotations

from strategies.runtime.protocol import ModelRuntime
from strategies.serialize import render
from strategies.task import Task, Value

from .registry import register


def shape(value: Value) -> tuple[int, ...]:
    """(rows, cols) of a grid; (characters,) of a text."""
    return (len(value), len(value[0])) if isinstance(value, list) else (len(value),)


def size(value: Value) -> int:
    n = 1
    for s in shape(value):
        n *= s
    return n


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


@register("counts", keys=("n_demos", "n_tests"), help="number of demonstrations and of test inputs")
def counts(task: Task, runtime: ModelRuntime | None = None) -> dict[str, float]:
    return {"n_demos": len(task.train), "n_tests": len(task.test)}


@register("is_grid", help="1 for a grid task, 0 for text")
def is_grid(task: Task, runtime: ModelRuntime | None = None) -> dict[str, float]:
    return {"is_grid": float(task.kind == "grid")}


@register("grid_side", keys=("grid_side_mean", "grid_side_max"),
          help="longer side of every demo and test grid, mean and max (0 for text)")
def grid_side(task: Task, runtime: ModelRuntime | None = None) -> dict[str, float]:
    if task.kind != "grid":
        return {"grid_side_mean": 0.0, "grid_side_max": 0.0}
    grids = [g for ex in task.train for g in (ex.input, ex.output)] + [ex.input for ex in task.test]
    sides = [float(max(shape(g))) for g in grids]
    return {"grid_side_mean": _mean(sides), "grid_side_max": max(sides)}


@register("sizes", keys=("out_in_ratio", "answer_size"),
          help="mean demo output/input size ratio, and mean demo output size (cells or characters)")
def sizes(task: Task, runtime: ModelRuntime | None = None) -> dict[str, float]:
    ratios = [size(ex.output) / size(ex.input) for ex in task.train]
    return {"out_in_ratio": _mean(ratios), "answer_size": _mean([float(size(ex.output)) for ex in task.train])}


@register("shape_consistency", keys=("same_shape", "const_out_shape", "const_shape_ratio", "out_distinct"),
          help="1 if every demo output has its input's shape / all outputs share a shape / the out:in "
               "shape ratio is the same in every demo; and the share of distinct demo outputs")
def shape_consistency(task: Task, runtime: ModelRuntime | None = None) -> dict[str, float]:
    pairs = [(shape(ex.input), shape(ex.output)) for ex in task.train]
    ratios = {tuple(o / i for i, o in zip(si, so)) if len(si) == len(so) else None for si, so in pairs}
    distinct = {repr(ex.output) for ex in task.train}
    return {
        "same_shape": float(all(si == so for si, so in pairs)),
        "const_out_shape": float(len({so for _, so in pairs}) == 1),
        "const_shape_ratio": float(len(ratios) == 1 and None not in ratios),
        "out_distinct": len(distinct) / len(task.train),
    }


def icl_prompts(task: Task) -> list[str]:
    demos = [(ex.input, ex.output) for ex in task.train]
    return [render(demos, ex.input, task.kind).prompt for ex in task.test]


@register("prompt_chars", help="mean characters of the plain ICL prompt over test inputs")
def prompt_chars(task: Task, runtime: ModelRuntime | None = None) -> dict[str, float]:
    return {"prompt_chars": _mean([float(len(p)) for p in icl_prompts(task)])}


@register("prompt_tokens", needs="tokenizer", help="mean tokens of the plain ICL prompt over test inputs")
def prompt_tokens(task: Task, runtime: ModelRuntime) -> dict[str, float]:
    return {"prompt_tokens": _mean([float(len(runtime.encode(p))) for p in icl_prompts(task)])}
