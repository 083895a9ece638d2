"""Grid families: geometric, colour and structural primitives on 3..10-sided grids, and their compositions."""
from __future__ import annotations

import random
from functools import reduce
from typing import Any, Callable

from . import gridops as G
from .build import demo_task
from .registry import Split, family

Grid = G.Grid


def _n(rng: random.Random) -> int:
    return rng.randint(3, 4)


def _covers(train: list[Grid], test: Grid) -> bool:
    """Every colour of the test input is seen in some demo (so a colour rule is determined)."""
    seen = set().union(*(G.colours(g) for g in train))
    return G.colours(test) <= seen


# ---- geometry: all seven non-identity symmetries of the square ----------------------------------

_GEOMETRY: dict[str, G.Op] = {
    "rot90": G.rot90, "rot180": G.rot180, "rot270": G.rot270, "flip_h": G.flip_h,
    "flip_v": G.flip_v, "transpose": G.transpose, "anti_transpose": G.anti_transpose,
}


def _geometry_family(name: str, op: G.Op) -> None:
    @family(name, "grid", ("primitive", "geometry"), "adapt")
    def gen(rng: random.Random) -> dict[str, Any]:
        return demo_task(rng, lambda r: G.random_grid(r, 3, 8), op, _n(rng))


for _name, _op in _GEOMETRY.items():
    _geometry_family(_name, _op)


# ---- colour ---------------------------------------------------------------------------------------

def _perm(rng: random.Random) -> dict[int, int]:
    """A random permutation of colours 1..9 that moves every colour (0 stays background)."""
    src = list(range(1, 10))
    while True:
        dst = rng.sample(src, 9)
        if all(a != b for a, b in zip(src, dst)):
            return dict(zip(src, dst))


@family("colour_map", "grid", ("primitive", "colour"), "adapt")
def colour_map(rng: random.Random) -> dict[str, Any]:
    mapping, pal = _perm(rng), G.palette(rng, rng.randint(3, 4))
    return demo_task(rng, lambda r: G.random_grid(r, 3, 8, pal), lambda g: G.recolour(g, mapping),
                     _n(rng), _covers)


@family("colour_swap", "grid", ("primitive", "colour"), "adapt")
def colour_swap(rng: random.Random) -> dict[str, Any]:
    pal = G.palette(rng, 4)
    a, b = pal[0], pal[1]

    def reveals(train: list[Grid], test: Grid) -> bool:
        return _covers(train, test) and all({a, b} <= G.colours(g) for g in train[:2])
    return demo_task(rng, lambda r: G.random_grid(r, 3, 8, pal), lambda g: G.recolour(g, {a: b, b: a}),
                     _n(rng), reveals)


# ---- structure ------------------------------------------------------------------------------------

@family("gravity", "grid", ("primitive", "physics"), "adapt")
def gravity(rng: random.Random) -> dict[str, Any]:
    return demo_task(rng, lambda r: G.random_grid(r, 3, 8, density=(0.2, 0.4)), G.gravity, _n(rng))


@family("shift_wrap", "grid", ("primitive", "geometry"), "adapt")
def shift_wrap(rng: random.Random) -> dict[str, Any]:
    dy, dx = rng.choice([(dy, dx) for dy in range(-1, 2) for dx in range(-2, 3) if (dy, dx) != (0, 0)])
    return demo_task(rng, lambda r: G.random_grid(r, 4, 8, density=(0.2, 0.4)),
                     lambda g: G.shift(g, dy, dx), _n(rng))


@family("tile2x2", "grid", ("primitive", "structure"), "adapt")
def tile2x2(rng: random.Random) -> dict[str, Any]:
    return demo_task(rng, lambda r: G.random_grid(r, 3, 5), G.tile2x2, _n(rng))


@family("upscale2", "grid", ("primitive", "structure"), "adapt")
def upscale2(rng: random.Random) -> dict[str, Any]:
    return demo_task(rng, lambda r: G.random_grid(r, 3, 5), G.upscale2, _n(rng))


@family("crop_bbox", "grid", ("primitive", "structure"), "adapt")
def crop_bbox(rng: random.Random) -> dict[str, Any]:
    return demo_task(rng, lambda r: G.object_on_background(r), G.crop, _n(rng))


@family("count_cells", "grid", ("primitive", "counting"), "adapt")
def count_cells(rng: random.Random) -> dict[str, Any]:
    """Output: a 1xN row of the counted colour, N = its cells in the input (outputs are 1 row high)."""
    target, *others = G.palette(rng, 3)

    def sample(r: random.Random) -> Grid:
        g = G.random_grid(r, 3, 6, others, density=(0.1, 0.3))
        cells = [(i, j) for i in range(len(g)) for j in range(len(g[0]))]
        for i, j in r.sample(cells, r.randint(1, min(10, len(cells)))):
            g[i][j] = target
        return g

    def rule(g: Grid) -> Grid:
        return [[target] * sum(row.count(target) for row in g)]
    return demo_task(rng, sample, rule, _n(rng))


# ---- held-out primitives: symmetry completion and logical masks ---------------------------------

@family("symmetry_complete", "grid", ("primitive", "symmetry"), "heldout")
def symmetry_complete(rng: random.Random) -> dict[str, Any]:
    """A mirror-symmetric pattern with a patch erased on one side; the output restores it."""
    axis = rng.choice(["lr", "ud"])
    pal = G.palette(rng, 3)

    def full(r: random.Random) -> Grid:
        h, half = r.randint(3, 10), r.randint(2, 5)
        left = [[r.choice(pal) if r.random() < 0.8 else 0 for _ in range(half)] for _ in range(h)]
        g = [row + row[::-1] for row in left]
        return g if axis == "lr" else G.transpose(g)

    def sample(r: random.Random) -> tuple[Grid, Grid]:
        out = full(r)
        g = out if axis == "lr" else G.transpose(out)
        h, w = len(g), len(g[0])
        ph, pw = r.randint(1, max(1, h // 2)), r.randint(1, w // 2)
        top, left = r.randint(0, h - ph), r.randint(w // 2, w - pw)  # the patch stays in the right half
        erased = [[0 if top <= i < top + ph and left <= j < left + pw else v for j, v in enumerate(row)]
                  for i, row in enumerate(g)]
        return (erased if axis == "lr" else G.transpose(erased)), out

    pairs: dict[str, Grid] = {}

    def sample_in(r: random.Random) -> Grid:
        x, y = sample(r)
        pairs[repr(x)] = y
        return x

    def changed(train: list[Grid], test: Grid) -> bool:
        return test != pairs[repr(test)] and all(x != pairs[repr(x)] for x in train)
    return demo_task(rng, sample_in, lambda x: pairs[repr(x)], _n(rng), changed)


def _mask_family(name: str, op: Callable[[bool, bool], bool]) -> None:
    @family(name, "grid", ("primitive", "logic"), "heldout")
    def gen(rng: random.Random) -> dict[str, Any]:
        """Two halves split by a column of the separator colour; output marks cells where op(left, right)."""
        a, b, sep, mark = G.palette(rng, 4)

        def sample(r: random.Random) -> Grid:
            h, w = r.randint(3, 6), r.randint(3, 4)
            return [[a if r.random() < 0.5 else 0 for _ in range(w)] + [sep] +
                    [b if r.random() < 0.5 else 0 for _ in range(w)] for _ in range(h)]

        def rule(g: Grid) -> Grid:
            w = len(g[0]) // 2
            return [[mark if op(bool(row[j]), bool(row[w + 1 + j])) else 0 for j in range(w)] for row in g]
        return demo_task(rng, sample, rule, _n(rng), lambda tr, te: any(any(map(any, rule(x))) for x in tr))


_mask_family("mask_and", lambda x, y: x and y)
_mask_family("mask_or", lambda x, y: x or y)
_mask_family("mask_xor", lambda x, y: x != y)


# ---- compositions: first op, then second ---------------------------------------------------------

def _composition(name: str, parts: tuple[str, str], split: Split, group: str, side_hi: int = 8) -> None:
    @family(name, "grid", ("composition", group), split, parts)
    def gen(rng: random.Random) -> dict[str, Any]:
        pal = G.palette(rng, rng.randint(3, 4))
        mapping = _perm(rng)
        a, b = pal[:2]
        ops: dict[str, G.Op] = {**_GEOMETRY, "gravity": G.gravity, "upscale2": G.upscale2,
                                "tile2x2": G.tile2x2, "crop_bbox": G.crop,
                                "colour_map": lambda g: G.recolour(g, mapping),
                                "colour_swap": lambda g: G.recolour(g, {a: b, b: a})}
        rule = lambda g: reduce(lambda acc, p: ops[p](acc), parts, g)  # noqa: E731
        if "crop_bbox" in parts:
            sample = lambda r: G.object_on_background(r, 5, side_hi, 3 if side_hi <= 5 else 4, pal)  # noqa: E731
        else:
            sample = lambda r: G.random_grid(r, 3, side_hi, pal)  # noqa: E731
        check = _covers if {"colour_map", "colour_swap"} & set(parts) else None
        return demo_task(rng, sample, rule, _n(rng), check)


_composition("rot90_colour_map", ("rot90", "colour_map"), "adapt", "geometry")
_composition("flip_h_upscale2", ("flip_h", "upscale2"), "adapt", "structure", side_hi=5)
_composition("gravity_flip_v", ("gravity", "flip_v"), "adapt", "physics")
_composition("transpose_colour_swap", ("transpose", "colour_swap"), "adapt", "colour")
_composition("rot180_crop", ("rot180", "crop_bbox"), "adapt", "structure")
_composition("flip_v_tile2x2", ("flip_v", "tile2x2"), "adapt", "structure", side_hi=5)
# held out: pairs that appear in no adapt composition
_composition("upscale2_rot90", ("upscale2", "rot90"), "heldout", "structure", side_hi=5)
_composition("crop_upscale2", ("crop_bbox", "upscale2"), "heldout", "structure", side_hi=5)
_composition("gravity_colour_map", ("gravity", "colour_map"), "heldout", "physics")
_composition("tile2x2_colour_swap", ("tile2x2", "colour_swap"), "heldout", "colour", side_hi=5)
