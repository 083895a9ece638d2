"""Routers to beat, behind one interface: `route(queries, budget=None) -> strategy name per query`."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Literal, Protocol, Sequence

import numpy as np

from .budget import Budget, calibrate_lambda, choose, threshold_for_budget
from .table import Queries, Table


class Router(Protocol):
    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray: ...


def _names(q: Queries, idx: np.ndarray) -> np.ndarray:
    return np.asarray(q.strategies, dtype=object)[idx]


def _greedy_count(extra: np.ndarray, base: float, n: int, budget: Budget) -> int:
    """How many queries, taken in the given order with these extra seconds, meet the budget best."""
    if budget.share is not None:
        return int(round(budget.share * n))
    mean_s = base + np.concatenate([[0.0], np.cumsum(extra)]) / n
    return int(np.argmin(np.abs(mean_s - budget.seconds)))


class Always:
    """The same strategy for every query (ignores any budget)."""

    def __init__(self, strategy: str = "icl"):
        self.strategy = strategy

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        return _names(q, np.full(q.n, q.index(self.strategy)))


class Random:
    """A random subset of queries, sized to the budget, goes to a random expensive strategy."""

    def __init__(self, expensive: Sequence[str] | None = None, share: float = 0.5, seed: int = 0):
        self.expensive = expensive   # default: every strategy but the cheap one
        self.share = share           # used when route() gets no budget
        self.seed = seed

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        cheap = q.index(q.cheap)
        exp = [q.index(s) for s in self.expensive] if self.expensive else \
            [j for j in range(len(q.strategies)) if j != cheap]
        pick = rng.choice(exp, size=q.n)
        budget = budget or Budget(share=self.share)
        extra = q.costs[np.arange(q.n), pick] - q.costs[:, cheap]
        # a seconds budget is met in expectation, with the mean extra cost of a random query
        m = _greedy_count(np.full(q.n, extra.mean() if q.n else 0.0), q.costs[:, cheap].mean(), q.n, budget)
        idx = np.full(q.n, cheap)
        chosen = rng.permutation(q.n)[:m]
        idx[chosen] = pick[chosen]
        return _names(q, idx)


class Threshold:
    """Two routes on one feature: the expensive strategy when the feature is past a threshold.

    direction "high": expensive when feature > threshold (perplexity: the model finds the task odd,
    TLM-like); "low": expensive when feature < threshold (vote share: ICL disagrees with itself, a
    cascade). A budget recalibrates the threshold on the queries at hand (RouteLLM's quantile).
    """

    def __init__(self, feature: str, direction: Literal["high", "low"] = "high", expensive: str | None = None,
                 threshold: float | None = None):
        self.feature = feature
        self.direction = direction
        self.expensive = expensive   # default: the first strategy that is not the cheap one
        self.threshold = threshold

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        if self.direction not in ("high", "low"):
            raise ValueError(f"direction must be 'high' or 'low', got {self.direction!r}")
        cheap = q.index(q.cheap)
        exp = q.index(self.expensive) if self.expensive else next(j for j in range(len(q.strategies)) if j != cheap)
        sign = 1.0 if self.direction == "high" else -1.0
        scores = np.nan_to_num(sign * q.column(self.feature), nan=-np.inf)   # no value: stay cheap
        if budget is not None:
            t = threshold_for_budget(scores, budget, q.costs[:, cheap], q.costs[:, exp])
        elif self.threshold is not None:
            t = sign * self.threshold
        else:
            raise ValueError("Threshold router needs a threshold or a budget")
        return _names(q, np.where(scores > t, exp, cheap))


class Oracle:
    """Knows the outcomes: the cheapest correct strategy, else the cheapest. Under a budget, the
    queries that need an expensive strategy get one cheapest-first until the budget is spent."""

    def __init__(self, correct: Any, seconds: Any):
        self.correct = np.asarray(correct, dtype=float)
        self.seconds = np.asarray(seconds, dtype=float)

    @classmethod
    def of(cls, table: Table) -> "Oracle":
        return cls(table.correct, table.seconds)

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        if self.correct.shape != (q.n, len(q.strategies)):
            raise ValueError(f"oracle outcomes are {self.correct.shape}, queries are {(q.n, len(q.strategies))}")
        right = self.correct == 1
        cost = np.where(right, self.seconds, np.inf)
        idx = np.where(right.any(axis=1), np.argmin(cost, axis=1), np.argmin(self.seconds, axis=1))
        if budget is None:
            return _names(q, idx)
        cheap = q.index(q.cheap)
        rows = np.arange(q.n)
        extra = self.seconds[rows, idx] - self.seconds[rows, cheap]
        want = np.flatnonzero(idx != cheap)
        want = want[np.argsort(extra[want], kind="stable")]
        m = _greedy_count(extra[want], self.seconds[:, cheap].mean(), q.n, budget)
        out = np.full(q.n, cheap)
        out[want[:m]] = idx[want[:m]]
        return _names(q, out)


class Learned:
    """A fitted StrategyRouter; a budget calibrates lam on the queries at hand (see policies.budget)."""

    def __init__(self, router: Any, lam: float | None = None):
        self.router = router
        self.lam = lam   # default: the router's own lam

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        names = getattr(self.router, "feature_names_in_", None)
        X = q.X if names is None else np.column_stack(
            [q.column(c) if c in q.feature_names else np.full(q.n, np.nan) for c in names]).reshape(q.n, len(names))
        P = self.router.predict_proba(X)
        cols = [q.index(s) for s in self.router.strategies_]
        C = q.costs[:, cols]
        strategies = [str(s) for s in self.router.strategies_]
        if budget is not None:
            cheap = strategies.index(q.cheap) if q.cheap in strategies else int(np.argmin(C.mean(axis=0)))
            lam = calibrate_lambda(P, C, budget, cheap=cheap)
        else:
            lam = self.router.lam if self.lam is None else self.lam
        return np.asarray(strategies, dtype=object)[choose(P, C, lam)]


# name -> factory; each factory's keyword arguments configure the router
ROUTERS: dict[str, Callable[..., Router]] = {
    "always": Always,
    "always_icl": partial(Always, "icl"),
    "random": Random,
    "ppl_threshold": partial(Threshold, "demo_ppl", "high"),
    "consistency_threshold": partial(Threshold, "self_consistency", "low"),
    "oracle": Oracle,
    "learned": Learned,
}


def make_router(name: str, *args: Any, **kw: Any) -> Router:
    if name not in ROUTERS:
        raise KeyError(f"unknown router {name!r}; known: {sorted(ROUTERS)}")
    return ROUTERS[name](*args, **kw)
