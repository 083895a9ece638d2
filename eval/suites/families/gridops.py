"""Pure grid operations and random grid samplers used by the grid families (colour 0 is background)."""
from __future__ import annotations

import random
from typing import Callable

Grid = list[list[int]]
Op = Callable[[Grid], Grid]


def rot90(g: Grid) -> Grid:          # clockwise
    return [list(r) for r in zip(*g[::-1])]


def rot180(g: Grid) -> Grid:
    return [row[::-1] for row in g[::-1]]


def rot270(g: Grid) -> Grid:
    return [list(r) for r in zip(*g)][::-1]


def flip_h(g: Grid) -> Grid:         # mirror left-right
    return [row[::-1] for row in g]


def flip_v(g: Grid) -> Grid:         # mirror top-bottom
    return [list(row) for row in g[::-1]]


def transpose(g: Grid) -> Grid:
    return [list(r) for r in zip(*g)]


def anti_transpose(g: Grid) -> Grid:
    return rot180(transpose(g))


def recolour(g: Grid, mapping: dict[int, int]) -> Grid:
    return [[mapping.get(c, c) for c in row] for row in g]


def gravity(g: Grid) -> Grid:
    """Non-zero cells fall to the bottom of their column, keeping their order."""
    h, w = len(g), len(g[0])
    out = [[0] * w for _ in range(h)]
    for c in range(w):
        col = [g[r][c] for r in range(h) if g[r][c]]
        for i, v in enumerate(reversed(col)):
            out[h - 1 - i][c] = v
    return out


def shift(g: Grid, dy: int, dx: int) -> Grid:
    """Translate by (dy, dx) with wrap-around."""
    h, w = len(g), len(g[0])
    return [[g[(r - dy) % h][(c - dx) % w] for c in range(w)] for r in range(h)]


def tile2x2(g: Grid) -> Grid:
    return [row + row for row in g] * 2


def upscale2(g: Grid) -> Grid:
    return [[c for c in row for _ in range(2)] for row in g for _ in range(2)]


def crop(g: Grid) -> Grid:
    """Crop to the bounding box of the non-zero cells."""
    rows = [r for r, row in enumerate(g) if any(row)]
    cols = [c for c in range(len(g[0])) if any(row[c] for row in g)]
    return [row[cols[0]:cols[-1] + 1] for row in g[rows[0]:rows[-1] + 1]]


def colours(g: Grid) -> set[int]:
    return {c for row in g for c in row if c}


# ---- samplers -------------------------------------------------------------------------------------

def random_grid(rng: random.Random, lo: int = 3, hi: int = 10, palette: list[int] | None = None,
                density: tuple[float, float] = (0.3, 0.7)) -> Grid:
    """A sparse random grid, sides in lo..hi, non-zero cells drawn from `palette` (default 1..9)."""
    palette = palette or list(range(1, 10))
    h, w = rng.randint(lo, hi), rng.randint(lo, hi)
    p = rng.uniform(*density)
    g = [[rng.choice(palette) if rng.random() < p else 0 for _ in range(w)] for _ in range(h)]
    if not any(any(row) for row in g):
        g[rng.randrange(h)][rng.randrange(w)] = rng.choice(palette)
    return g


def object_on_background(rng: random.Random, lo: int = 5, hi: int = 10, obj_hi: int = 4,
                         palette: list[int] | None = None) -> Grid:
    """A small random object (2..obj_hi per side, corners of its box filled) on an empty grid."""
    palette = palette or list(range(1, 10))
    h, w = rng.randint(lo, hi), rng.randint(lo, hi)
    oh, ow = rng.randint(2, min(obj_hi, h - 1)), rng.randint(2, min(obj_hi, w - 1))
    top, left = rng.randint(0, h - oh), rng.randint(0, w - ow)
    g = [[0] * w for _ in range(h)]
    for r in range(oh):
        for c in range(ow):
            if rng.random() < 0.7 or (r in (0, oh - 1) and c in (0, ow - 1)):
                g[top + r][left + c] = rng.choice(palette)
    return g


def palette(rng: random.Random, k: int) -> list[int]:
    return rng.sample(range(1, 10), k)
