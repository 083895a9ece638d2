"""Invertible task augmentations: D8 geometry, upscaling, colour permutations and demo order, as `View`s."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Callable

from .task import MAX_GRID_SIDE, Example, Grid, Task, Value

GridFn = Callable[[Grid], Grid]


# -- grid transforms (pure Python: grids are at most 30x30) ------------------------------------
def identity(g: Grid) -> Grid:
    return [list(row) for row in g]


def rot90(g: Grid) -> Grid:
    """Clockwise quarter turn."""
    return [list(row) for row in zip(*g[::-1])]


def rot180(g: Grid) -> Grid:
    return [row[::-1] for row in g[::-1]]


def rot270(g: Grid) -> Grid:
    """Anticlockwise quarter turn."""
    return [list(row) for row in zip(*g)][::-1]


def flip_h(g: Grid) -> Grid:
    """Mirror left to right."""
    return [row[::-1] for row in g]


def flip_v(g: Grid) -> Grid:
    """Mirror top to bottom."""
    return [list(row) for row in g[::-1]]


def transpose(g: Grid) -> Grid:
    return [list(row) for row in zip(*g)]


def anti_transpose(g: Grid) -> Grid:
    """Reflect across the anti-diagonal (top-right to bottom-left)."""
    return [list(row)[::-1] for row in zip(*g)][::-1]


def upscale2(g: Grid) -> Grid:
    """Every cell becomes a 2x2 block."""
    return [[c for c in row for _ in (0, 1)] for row in g for _ in (0, 1)]


def downscale2(g: Grid) -> Grid:
    """Inverse of `upscale2`; a grid that is not made of uniform 2x2 blocks has no preimage."""
    if len(g) % 2 or len(g[0]) % 2:
        raise ValueError(f"cannot downscale a {len(g)}x{len(g[0])} grid: upscale2 outputs have even sides")
    for r in range(0, len(g), 2):
        top, bottom = g[r], g[r + 1]
        for c in range(0, len(top), 2):
            if not top[c] == top[c + 1] == bottom[c] == bottom[c + 1]:
                raise ValueError(f"cannot downscale: the 2x2 block at ({r},{c}) is not one colour")
    return [row[::2] for row in g[::2]]


# name -> (forward, inverse)
TRANSFORMS: dict[str, tuple[GridFn, GridFn]] = {
    "identity": (identity, identity),
    "rot90": (rot90, rot270),
    "rot180": (rot180, rot180),
    "rot270": (rot270, rot90),
    "flip_h": (flip_h, flip_h),
    "flip_v": (flip_v, flip_v),
    "transpose": (transpose, transpose),
    "anti_transpose": (anti_transpose, anti_transpose),
    "upscale2": (upscale2, downscale2),
}
D8 = ("identity", "rot90", "rot180", "rot270", "flip_h", "flip_v", "transpose", "anti_transpose")
SIZE = ("upscale2",)


def _check_grid(value: object) -> Grid:
    ok = (isinstance(value, list) and value and all(isinstance(r, list) and r for r in value)
          and len({len(r) for r in value}) == 1)
    if not ok:
        raise ValueError(f"expected a non-empty rectangular grid, got {str(value)[:60]!r}")
    return value  # type: ignore[return-value]


def _recolour(g: Grid, table: tuple[int, ...]) -> Grid:
    try:
        return [[table[c] for c in row] for row in g]
    except (IndexError, TypeError):
        raise ValueError("grid cells must be colours 0..9") from None


# -- views ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """One invertible way to look at a task: a grid transform, a colour permutation, a demo order.

    `colours[c]` is the new colour of colour c (0, the background, stays 0); `order[i]` is the index of
    the original demo shown at position i. None means "unchanged" for both. Build views with `View.make`
    (it names them) or `views`. Values are treated as immutable; do not mutate what these methods return.
    """
    name: str
    transform: str = "identity"
    colours: tuple[int, ...] | None = None
    order: tuple[int, ...] | None = None
    colours_inv: tuple[int, ...] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {self.transform!r}; known: {sorted(TRANSFORMS)}")
        if self.colours is not None:
            if sorted(self.colours) != list(range(10)) or self.colours[0] != 0:
                raise ValueError(f"colours must permute 0..9 and keep 0 fixed, got {self.colours}")
            inv = [0] * 10
            for c, new in enumerate(self.colours):
                inv[new] = c
            object.__setattr__(self, "colours_inv", tuple(inv))
        if self.order is not None and sorted(self.order) != list(range(len(self.order))):
            raise ValueError(f"order must be a permutation of 0..{len(self.order) - 1}, got {self.order}")

    @classmethod
    def make(cls, transform: str = "identity", colours: tuple[int, ...] | None = None,
             order: tuple[int, ...] | None = None) -> "View":
        """A view with a readable name, e.g. `rot90/c0312456789/o2.0.1`; trivial parts are dropped."""
        if colours is not None and tuple(colours) == tuple(range(10)):
            colours = None
        if order is not None and tuple(order) == tuple(range(len(order))):
            order = None
        parts = [transform]
        if colours is not None:
            parts.append("c" + "".join(map(str, colours)))
        if order is not None:
            parts.append("o" + ".".join(map(str, order)))
        return cls("/".join(parts), transform, None if colours is None else tuple(colours),
                   None if order is None else tuple(order))

    @property
    def is_identity(self) -> bool:
        return self.transform == "identity" and self.colours is None and self.order is None

    @property
    def forward(self) -> GridFn:
        return TRANSFORMS[self.transform][0]

    @property
    def inverse(self) -> GridFn:
        return TRANSFORMS[self.transform][1]

    @property
    def touches_grids(self) -> bool:
        return self.transform != "identity" or self.colours is not None

    def apply_value(self, value: Value) -> Value:
        """Map one input or output into this view's frame. Text passes through; ValueError if a
        grid-changing view meets text or a malformed grid."""
        if not self.touches_grids:
            return value
        g = self.forward(_check_grid(value))
        return g if self.colours is None else _recolour(g, self.colours)

    def invert(self, value: Value | None) -> Value | None:
        """Map a value predicted in this view's frame back to the original frame.

        None stays None. A value that no grid maps to under this view (text, a ragged grid, colours
        outside 0..9, an upscaled answer that is not uniform 2x2 blocks) raises ValueError; callers
        that vote treat that as an invalid answer.
        """
        if value is None or not self.touches_grids:
            return value
        g = _check_grid(value)
        if self.colours_inv is not None:
            g = _recolour(g, self.colours_inv)
        return self.inverse(g)

    def apply(self, task: Task) -> Task:
        """The task as seen through this view: every grid transformed, demos reordered."""
        if task.kind == "text" and self.touches_grids:
            raise ValueError(f"view {self.name!r} changes grids; a text task takes demo-order views only")
        train = task.train
        if self.order is not None:
            if len(self.order) != len(train):
                raise ValueError(f"view {self.name!r} orders {len(self.order)} demos, the task has {len(train)}")
            train = tuple(train[i] for i in self.order)
        if self.touches_grids:
            train = tuple(self._example(e) for e in train)
            test = tuple(self._example(e) for e in task.test)
        else:
            test = task.test
        # the source task was validated and these maps preserve validity (size is checked by `fits`)
        return Task.model_construct(kind=task.kind, train=train, test=test, name=task.name)

    def _example(self, e: Example) -> Example:
        out = None if e.output is None else self.apply_value(e.output)
        return Example.model_construct(input=self.apply_value(e.input), output=out)


IDENTITY = View.make()


def fits(task: Task) -> bool:
    """True when every grid of the task is within ARC's 30x30."""
    if task.kind != "grid":
        return True
    grids = [g for e in (*task.train, *task.test) for g in (e.input, e.output) if g is not None]
    return all(len(g) <= MAX_GRID_SIDE and len(g[0]) <= MAX_GRID_SIDE for g in grids)


def task_key(task: Task) -> str:
    """What a model sees of a task (demos and test inputs), as a string for de-duplication."""
    return json.dumps([[[e.input, e.output] for e in task.train], [e.input for e in task.test]])


def views(task: Task, n: int, seed: int = 0, geometric: bool = True, colours: bool = True,
          shuffle: bool = True, size: bool = False) -> list[View]:
    """The identity view, then up to n-1 more, each giving a different transformed task.

    The first round walks the non-identity transforms in a seeded order, so n=8 with only geometry
    covers all of D8; later rounds repeat the transforms with fresh colour permutations and demo
    orders. Text tasks get demo-order shuffles only. Views whose grids exceed 30x30 are dropped.
    Fewer than n come back when the task has fewer distinct views (symmetric grids, few demos).
    """
    out = [IDENTITY]
    if n <= 1:
        return out
    grid = task.kind == "grid"
    transforms = [t for t in D8 if geometric or t == "identity"] + (list(SIZE) if size else [])
    if not grid:
        transforms = ["identity"]
    recolour = grid and colours
    rng = random.Random(seed)
    seen_keys = {task_key(task)}
    seen_specs = {("identity", None, None)}
    n_demos = len(task.train)

    def plan():  # endless stream of transform names: a first round without identity, then all of them
        first = [t for t in transforms if t != "identity"]
        rng.shuffle(first)
        yield from first
        while True:
            again = list(transforms)
            rng.shuffle(again)
            yield from again

    # why a budget: a spec can come up again (few demos, no colours) and some tasks have few views
    budget = 20 * n + 50
    for transform in plan():
        if len(out) >= n or budget <= 0:
            break
        budget -= 1
        perm = (0, *rng.sample(range(1, 10), 9)) if recolour else None
        order = tuple(rng.sample(range(n_demos), n_demos)) if shuffle else None
        view = View.make(transform, perm, order)
        spec = (view.transform, view.colours, view.order)
        if spec in seen_specs:
            continue
        seen_specs.add(spec)
        seen = view.apply(task)
        key = task_key(seen)
        if key in seen_keys or not fits(seen):
            continue
        seen_keys.add(key)
        out.append(view)
    return out
