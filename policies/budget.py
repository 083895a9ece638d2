"""Budgets: route by P(correct) - lam*seconds, and calibrate lam or a threshold to a share or mean seconds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

TIE = 1e-12   # utilities this close count as equal; the cheaper strategy then wins


@dataclass(frozen=True)
class Budget:
    """Exactly one of: the share of queries sent to a strategy other than the cheap one, or the mean
    predicted seconds per query."""
    share: float | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.share is None) == (self.seconds is None):
            raise ValueError("a Budget takes exactly one of share= or seconds=")
        if self.share is not None and not 0.0 <= self.share <= 1.0:
            raise ValueError(f"share must be in [0, 1], got {self.share}")
        if self.seconds is not None and self.seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {self.seconds}")


def choose(P: np.ndarray, C: np.ndarray, lam: float) -> np.ndarray:
    """Index of the strategy maximising P - lam*C per row; ties go to the cheaper, then the first."""
    U = P - lam * C
    near_best = U >= U.max(axis=1, keepdims=True) - TIE
    return np.argmin(np.where(near_best, C, np.inf), axis=1)


def switch_points(P: np.ndarray, C: np.ndarray, positive: bool = True) -> np.ndarray:
    """Sorted lam at which some query's two strategies have equal utility: the only places where a
    routing decision can change. Only lam > 0 unless `positive` is False."""
    k = P.shape[1]
    pts = []
    for a in range(k):
        for b in range(a + 1, k):
            dc = C[:, a] - C[:, b]
            ok = dc != 0
            lam = (P[ok, a] - P[ok, b]) / dc[ok]
            pts.append(lam[np.isfinite(lam) & ((lam > 0) if positive else (lam != 0))])
    return np.unique(np.concatenate(pts)) if pts else np.zeros(0)


def routed_share(P: np.ndarray, C: np.ndarray, lam: float, cheap: int) -> float:
    return float(np.mean(choose(P, C, lam) != cheap))


def routed_seconds(P: np.ndarray, C: np.ndarray, lam: float) -> float:
    idx = choose(P, C, lam)
    return float(np.mean(C[np.arange(len(idx)), idx]))


def calibrate_lambda(P: np.ndarray, C: np.ndarray, budget: Budget, cheap: int = 0) -> float:
    """The lam whose routing of these queries comes closest to the budget (on a tie, the one that
    spends less).

    RouteLLM's quantile calibration, for k strategies: a query can only change route where two of
    its utility lines cross, so one lam per interval between sorted crossings is every distinct
    routing; a binary search over them lands within one query (1/n) of the target. Mean seconds never
    grows with lam; the expensive share does not either when the cheap strategy is the cheapest for
    each query, as ICL is.

    lam = 0 routes each query to its most likely correct strategy. A budget above what that spends is
    met with lam < 0, which buys the extra seconds where the dearer strategy's predicted loss is
    smallest per second, down to always-most-expensive: like RouteLLM's threshold, the router can be
    made to spend any budget between all-cheap and all-dear, not only up to its own argmax.
    """
    P, C = np.asarray(P, dtype=float), np.asarray(C, dtype=float)
    if budget.share is not None:
        target = budget.share
        metric: Callable[[float], float] = lambda lam: routed_share(P, C, lam, cheap)
    else:
        target = budget.seconds
        metric = lambda lam: routed_seconds(P, C, lam)
    if metric(0.0) < target:
        pts = switch_points(P, C, positive=False)
        pts = pts[pts < 0]
    else:
        pts = switch_points(P, C)
    if len(pts):   # one candidate inside each interval between switch points, plus both ends
        cands = np.concatenate([[min(pts[0] * 2, pts[0] - 1.0)], (pts[:-1] + pts[1:]) / 2,
                                [max(pts[-1] * 2, pts[-1] + 1.0)]])
    else:
        cands = np.array([-1.0, 1.0])
    cands = np.unique(np.concatenate([cands, [0.0]]))
    cands = cands[cands <= 0] if metric(0.0) < target else cands[cands >= 0]
    lo, hi = 0, len(cands) - 1          # find the first candidate at or under the target
    if metric(cands[hi]) > target:
        return float(cands[hi])          # even the cheapest routing spends more than the budget
    while lo < hi:
        mid = (lo + hi) // 2
        if metric(cands[mid]) <= target:
            hi = mid
        else:
            lo = mid + 1
    if lo > 0 and abs(metric(cands[lo - 1]) - target) < abs(metric(cands[lo]) - target):
        return float(cands[lo - 1])
    return float(cands[lo])


def threshold_for_budget(scores: np.ndarray, budget: Budget, c_cheap: np.ndarray | None = None,
                         c_expensive: np.ndarray | None = None) -> float:
    """Two routes: send a query to the expensive one when its score > threshold. Returns the
    threshold that sends the share closest to `budget.share` (or whose mean seconds, from the two
    per-query cost vectors, is closest to `budget.seconds`). Cuts between two sorted scores."""
    s = np.sort(np.asarray(scores, dtype=float))[::-1]
    n = len(s)
    if n == 0:
        raise ValueError("no scores to calibrate on")
    if budget.share is not None:
        m = int(round(budget.share * n))
    else:
        if c_cheap is None or c_expensive is None:
            raise ValueError("a seconds budget needs the per-query costs of both routes")
        order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
        extra = np.asarray(c_expensive, dtype=float)[order] - np.asarray(c_cheap, dtype=float)[order]
        mean_s = (np.sum(c_cheap) + np.concatenate([[0.0], np.cumsum(extra)])) / n   # m = 0..n
        m = int(np.argmin(np.abs(mean_s - budget.seconds)))
    if m <= 0:
        return float(np.inf)
    if m >= n:
        return float(-np.inf)
    return float((s[m - 1] + s[m]) / 2)
