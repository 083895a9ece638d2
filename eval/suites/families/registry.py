"""Synthetic task-family registry: named, seeded generators of few-shot tasks, split into adapt and held-out."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from strategies.task import Kind, Task, task_from_obj

Split = Literal["adapt", "heldout"]

# Seeds: the adaptation stage (meta-training on adapt families) draws tasks only from ADAPT_SEEDS;
# every evaluation suite draws fresh tasks from EVAL_SEED0 upward, so no evaluated task was trained on.
ADAPT_SEEDS = range(0, 1_000_000)
EVAL_SEED0 = 10_000_000

Generate = Callable[[random.Random], dict[str, Any]]


@dataclass(frozen=True)
class Family:
    """One rule that generates endless tasks; `generate(rng)` returns ARC-shaped JSON with one test."""
    name: str
    kind: Kind                      # "grid" or "text"; classification is text with tag "classification"
    tags: tuple[str, ...]           # "primitive" or "composition", plus a group such as "geometry"
    split: Split
    generate: Generate
    parts: tuple[str, ...] = ()     # for compositions: the primitives, in the order applied

    def __post_init__(self) -> None:
        if self.kind not in ("grid", "text"):
            raise ValueError(f"family {self.name!r}: kind must be 'grid' or 'text', got {self.kind!r}")
        if self.split not in ("adapt", "heldout"):
            raise ValueError(f"family {self.name!r}: split must be 'adapt' or 'heldout', got {self.split!r}")
        if ("primitive" in self.tags) == ("composition" in self.tags):
            raise ValueError(f"family {self.name!r}: tags need exactly one of 'primitive' or 'composition'")


FAMILIES: dict[str, Family] = {}


def register(fam: Family) -> Family:
    """Add a family; a second family under the same name is an error, never a silent overwrite."""
    if fam.name in FAMILIES:
        raise ValueError(f"family {fam.name!r} is already registered")
    FAMILIES[fam.name] = fam
    return fam


def family(name: str, kind: Kind, tags: Sequence[str], split: Split,
           parts: Sequence[str] = ()) -> Callable[[Generate], Generate]:
    """Decorator form of `register` for a generator function."""
    def wrap(fn: Generate) -> Generate:
        register(Family(name, kind, tuple(tags), split, fn, tuple(parts)))
        return fn
    return wrap


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise KeyError(f"unknown family {name!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[name]


def make_task(name: str, seed: int) -> Task:
    """The task of family `name` for `seed`: the same pair always gives the same task."""
    fam = get_family(name)
    obj = fam.generate(random.Random(f"{name}:{seed}"))
    return task_from_obj(obj, name=f"{name}-{seed}")


def families(split: Split | None = None, kind: Kind | None = None, tag: str | None = None) -> list[Family]:
    """Registered families, in registration order, optionally filtered."""
    return [f for f in FAMILIES.values()
            if (split is None or f.split == split) and (kind is None or f.kind == kind)
            and (tag is None or tag in f.tags)]


def sample_tasks(names: Sequence[str], n_per: int, seed0: int) -> list[Task]:
    """`n_per` tasks of each family, seeds seed0 .. seed0 + n_per - 1, round-robin over the families
    (so a run cut short, or `--limit`, still covers every family)."""
    return [make_task(name, seed0 + i) for i in range(n_per) for name in names]
