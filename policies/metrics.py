"""Routing metrics on an outcome table: accuracy and seconds, the accuracy-vs-cost curve, APGR and CPT."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .budget import Budget
from .table import Table


@dataclass(frozen=True)
class Point:
    accuracy: float
    seconds: float                # mean wall seconds per query
    share: float                  # share of expensive calls
    budget: float | None = None   # the knob that produced it (target share or seconds), if any


def evaluate(decisions: Sequence[str], table: Table, budget: float | None = None) -> Point:
    """Accuracy, mean seconds and expensive share of one routing decision per query."""
    if len(decisions) != table.n:
        raise ValueError(f"{len(decisions)} decisions for {table.n} queries")
    idx = np.array([table.strategies.index(str(d)) for d in decisions], dtype=int)
    rows = np.arange(table.n)
    right, secs = table.correct[rows, idx], table.seconds[rows, idx]
    missing = np.flatnonzero(np.isnan(right) | np.isnan(secs))
    if len(missing):
        i = missing[0]
        raise ValueError(f"query {table.keys[i]!r} was routed to {table.strategies[idx[i]]!r}, "
                         f"whose outcome or seconds are unknown; evaluate on table.complete()")
    share = float(np.mean(idx != table.strategies.index(table.cheap))) if table.n else 0.0
    return Point(float(right.mean()), float(secs.mean()), share, budget)


def curve(router: Any, table: Table, shares: Sequence[float] | None = None,
          seconds: Sequence[float] | None = None, costs: np.ndarray | None = None) -> list[Point]:
    """Sweep a router over budgets: target shares (default 0, 0.1, ..., 1) or target mean seconds.
    `costs` are the per-query predicted seconds the router sees (default: per-strategy medians)."""
    q = table.queries(costs)
    if seconds is not None:
        budgets = [Budget(seconds=float(s)) for s in seconds]
    else:
        budgets = [Budget(share=float(s)) for s in (np.linspace(0, 1, 11) if shares is None else shares)]
    points = [evaluate(router.route(q, b), table, b.share if b.share is not None else b.seconds)
              for b in budgets]
    return sorted(points, key=lambda p: (p.share, p.accuracy))


def _xy(points: Sequence[Point], weak_acc: float) -> tuple[np.ndarray, np.ndarray]:
    """The curve as (share, accuracy), starting at (0, weak), duplicate shares averaged."""
    by: dict[float, list[float]] = {}
    for p in points:
        by.setdefault(p.share, []).append(p.accuracy)
    by.setdefault(0.0, [weak_acc])
    xs = np.array(sorted(by))
    return xs, np.array([np.mean(by[x]) for x in xs])


def auc(points: Sequence[Point], weak_acc: float) -> float:
    """Area under accuracy vs share of expensive calls over [0, 1], linear between points and flat
    after the last one (a router cannot be made to spend more than its largest routed share)."""
    xs, ys = _xy(points, weak_acc)
    if xs[-1] < 1.0:
        xs, ys = np.append(xs, 1.0), np.append(ys, ys[-1])
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2))


def apgr(points: Sequence[Point], weak_acc: float, strong_acc: float) -> float:
    """Average performance gap recovered, RouteLLM's (AUC - AUC_weak) / (AUC_strong - AUC_weak) with
    x = share of expensive calls; weak and strong are flat lines, so their AUCs are their accuracies.
    0 for always-weak, 1 for always-strong, 0.5 for random routing."""
    if strong_acc == weak_acc:
        raise ValueError(f"APGR is undefined when weak and strong accuracy are equal ({weak_acc})")
    return (auc(points, weak_acc) - weak_acc) / (strong_acc - weak_acc)


def cpt(points: Sequence[Point], weak_acc: float, strong_acc: float, pgr: float = 0.5) -> float:
    """Call-performance threshold: the smallest share of expensive calls at which the curve recovers
    `pgr` of the weak-to-strong gap (linear between points); NaN if it never does."""
    target = weak_acc + pgr * (strong_acc - weak_acc)
    xs, ys = _xy(points, weak_acc)
    if ys[0] >= target:
        return float(xs[0])
    for i in range(1, len(xs)):
        if ys[i] >= target:
            return float(xs[i - 1] + (xs[i] - xs[i - 1]) * (target - ys[i - 1]) / (ys[i] - ys[i - 1]))
    return float("nan")


def summary(router: Any, table: Table, strong: str | None = None, costs: np.ndarray | None = None,
            shares: Sequence[float] | None = None) -> dict[str, Any]:
    """APGR, CPT(50%), CPT(80%) and the curve, against always-cheap and always-`strong` (default:
    the most accurate strategy that is not the cheap one)."""
    acc = np.nanmean(table.correct, axis=0)
    cheap = table.strategies.index(table.cheap)
    if strong is None:
        strong = max((s for s in table.strategies if s != table.cheap), key=lambda s: acc[table.strategies.index(s)])
    weak_acc, strong_acc = float(acc[cheap]), float(acc[table.strategies.index(strong)])
    points = curve(router, table, shares=shares, costs=costs)
    return {"weak": table.cheap, "strong": strong, "weak_acc": weak_acc, "strong_acc": strong_acc,
            "apgr": apgr(points, weak_acc, strong_acc), "cpt50": cpt(points, weak_acc, strong_acc, 0.5),
            "cpt80": cpt(points, weak_acc, strong_acc, 0.8), "points": points}
