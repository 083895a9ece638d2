"""Accuracy-vs-cost curves: the learned router and each baseline swept over budgets, with APGR and CPT."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from policies.baselines import Always, Learned, Oracle, Random, Threshold
from policies.metrics import Point, apgr, cpt, curve, evaluate
from policies.table import Table

SHARES = tuple(np.linspace(0.0, 1.0, 21))   # budgets swept: target share of queries sent past the cheap strategy


@dataclass
class Series:
    """One line (a router swept over budgets) or one point (a fixed strategy) on the curve."""
    name: str
    points: list[Point]
    swept: bool
    apgr: float = math.nan
    cpt50: float = math.nan
    cpt80: float = math.nan


@dataclass
class Curves:
    """Everything on the accuracy-vs-cost figure, on the queries every strategy ran (`table`)."""
    table: Table | None
    weak: str = ""
    strong: str = ""
    weak_acc: float = math.nan
    strong_acc: float = math.nan
    series: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # what is missing, and why
    learned_choices: dict[str, str] = field(default_factory=dict)   # task hash -> the router's unbudgeted pick

    def get(self, name: str) -> Series | None:
        return next((s for s in self.series if s.name == name), None)


def pick_strong(table: Table, training: Sequence[str]) -> str:
    """The most accurate expensive strategy (ties: the cheaper), among training strategies when there are any."""
    acc, secs = np.mean(table.correct, axis=0), np.mean(table.seconds, axis=0)
    pool = [s for s in table.strategies if s != table.cheap]
    pool = [s for s in pool if s in training] or pool
    return max(pool, key=lambda s: (acc[table.strategies.index(s)], -secs[table.strategies.index(s)]))


def _sweep(name: str, router: Any, table: Table, weak: float, strong: float, costs: np.ndarray | None) -> Series:
    points = curve(router, table, shares=SHARES, costs=costs)
    s = Series(name, points, swept=True)
    if strong != weak:
        s.apgr, s.cpt50, s.cpt80 = apgr(points, weak, strong), cpt(points, weak, strong, 0.5), cpt(points, weak, strong, 0.8)
    return s


def _feature_ok(table: Table, name: str) -> bool:
    return name in table.feature_names and bool(np.isfinite(table.X[:, table.feature_names.index(name)]).any())


def build_curves(full: Table, training: Sequence[str], router: Any = None, costs: np.ndarray | None = None,
                 router_note: str = "") -> Curves:
    """Sweep every router on the complete part of `full`; `costs` (rows of `full`) are what routers see."""
    if len(full.strategies) < 2:
        return Curves(None, notes=[f"The curve needs at least 2 strategies; this log has only "
                                   f"{', '.join(full.strategies)}. Run more strategies on the same tasks "
                                   f"(`tttc collect`)."])
    ok = ~(np.isnan(full.correct).any(1) | np.isnan(full.seconds).any(1))
    table = full.subset(ok)
    if table.n == 0:
        return Curves(None, notes=["No query was run (and scored) under every strategy, so strategies cannot be "
                                   "compared on the same queries; run them all on the same tasks (`tttc collect`)."])
    if costs is not None:
        costs = costs[ok]
    c = Curves(table)
    if table.n < full.n:
        c.notes.append(f"The curve uses the {table.n} of {full.n} queries that every strategy ran and that have feedback.")
    acc = np.mean(table.correct, axis=0)
    c.weak, c.strong = table.cheap, pick_strong(table, training)
    c.weak_acc, c.strong_acc = float(acc[table.strategies.index(c.weak)]), float(acc[table.strategies.index(c.strong)])
    if c.weak_acc == c.strong_acc:
        c.notes.append(f"APGR and CPT are undefined: always-{c.weak} and always-{c.strong} are equally accurate "
                       f"({c.weak_acc:.2f}) on these queries.")
    q = table.queries()
    for s in table.strategies:   # fixed strategies: one point each
        c.series.append(Series(f"always-{s}", [evaluate(Always(s).route(q), table)], swept=False))
    if router is not None:
        missing = [str(s) for s in router.strategies_ if str(s) not in table.strategies]
        if missing:
            c.notes.append(f"The learned router chooses among {', '.join(map(str, router.strategies_))}; "
                           f"this log lacks {', '.join(missing)}, so it is not swept.")
        else:
            learned = Learned(router)
            c.series.append(_sweep("learned router", learned, table, c.weak_acc, c.strong_acc, costs))
            c.learned_choices = dict(zip(table.keys, map(str, learned.route(table.queries(costs)))))
            if router_note:
                c.notes.append(router_note)
    else:
        c.notes.append(router_note or "No learned router was given (--router DIR), so only baselines are drawn.")
    c.series.append(_sweep("random", Random(seed=0), table, c.weak_acc, c.strong_acc, None))
    for name, feature, direction in (("perplexity-only", "demo_ppl", "high"),
                                     ("self-consistency-only", "self_consistency", "low")):
        if _feature_ok(table, feature):
            c.series.append(_sweep(name, Threshold(feature, direction, expensive=c.strong), table,
                                   c.weak_acc, c.strong_acc, None))
        else:
            c.notes.append(f"{name}: the log has no `{feature}` feature, so this baseline is not drawn.")
    c.series.append(_sweep("oracle", Oracle.of(table), table, c.weak_acc, c.strong_acc, None))
    return c


def headline_point(series: Series, strong_acc: float, within: float = 0.95) -> Point:
    """The cheapest point reaching `within` of the strong strategy's accuracy, else the most accurate one."""
    good = [p for p in series.points if p.accuracy >= within * strong_acc]
    if good:
        return min(good, key=lambda p: (p.seconds, -p.accuracy))
    return max(series.points, key=lambda p: (p.accuracy, -p.seconds))
