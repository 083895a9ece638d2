"""Two-stage routing: decide on cheap features when the choice is clear, pay for model features only when not.

Model features (leave-one-out ICL, the self-consistency probe, perplexities, the learnability probe) cost
7-20 s per query on one CPU core, a sixth to a half of a `ttt` run, and most queries do not need them: a stage-1 router on the
model-free features (sizes, shapes, token counts: milliseconds) already knows that a 10x10 grid is
hopeless for ICL or that a short text task is easy. Stage 1 picks the strategy of highest utility
P1 - lam1*C; when the margin to the runner-up is below a threshold, the query *escalates*: its
model features are computed and the full router decides (P2 - lam2*C).

The threshold is calibrated like lam, to a rate: the share of queries that escalate.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .budget import Budget, calibrate_lambda, choose
from .table import Queries


def margins(P: np.ndarray, C: np.ndarray, lam: float) -> np.ndarray:
    """Per query, the utility gap between the best strategy and the runner-up (inf with one strategy)."""
    U = np.sort(np.asarray(P, dtype=float) - lam * np.asarray(C, dtype=float), axis=1)
    if U.shape[1] < 2:
        return np.full(U.shape[0], np.inf)
    return U[:, -1] - U[:, -2]


def threshold_for_rate(m: np.ndarray, rate: float) -> float:
    """The margin below which `rate` of these queries escalate (cut midway between two sorted margins):
    0 escalates none, 1 escalates all."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"escalation rate must be in [0, 1], got {rate}")
    s = np.sort(np.asarray(m, dtype=float))
    k = int(round(rate * len(s)))
    if k <= 0:
        return float("-inf")
    if k >= len(s):
        return float("inf")
    lo, hi = s[k - 1], s[k]
    if np.isinf(hi):   # margins are infinite only with a single strategy: nothing to decide there
        return float(lo + 1.0) if np.isfinite(lo) else float("inf")
    return float((lo + hi) / 2)


def escalate(P1: np.ndarray, C: np.ndarray, lam1: float, threshold: float) -> np.ndarray:
    """Which queries stage 1 is unsure of: a margin below `threshold`."""
    return margins(P1, C, lam1) < threshold


def decide(P1: np.ndarray, P2: np.ndarray, C: np.ndarray, lam1: float, lam2: float,
           threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(strategy index per query, escalated mask): stage 1's choice, or stage 2's where stage 1 is unsure.
    P2 rows of queries that do not escalate are never read (they may be NaN: features not computed)."""
    esc = escalate(P1, C, lam1, threshold)
    pick = choose(P1, C, lam1)
    if esc.any():
        pick[esc] = choose(P2[esc], C[esc], lam2)
    return pick, esc


class CascadeOOF:
    """Cross-validated cascade for the benchmark: P1 (stage-1 features) and P2 (all features) computed
    out of fold; under a budget each stage's lam is calibrated to it, and the `rate` of queries with the
    smallest stage-1 margins escalate. `last_escalated` is the share of the latest route() call."""

    def __init__(self, P1: np.ndarray, P2: np.ndarray, strategies: Sequence[str], rate: float):
        self.P1, self.P2 = np.asarray(P1, dtype=float), np.asarray(P2, dtype=float)
        self.strategies = list(strategies)
        self.rate = rate
        self.last_escalated = 0.0

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        if self.P1.shape[0] != q.n:
            raise ValueError(f"{self.P1.shape[0]} precomputed queries, {q.n} to route")
        C = q.costs[:, [q.index(s) for s in self.strategies]]
        lam1 = lam2 = 0.0
        if budget is not None:
            cheap = self.strategies.index(q.cheap) if q.cheap in self.strategies else int(np.argmin(C.mean(0)))
            lam1 = calibrate_lambda(self.P1, C, budget, cheap=cheap)
            lam2 = calibrate_lambda(self.P2, C, budget, cheap=cheap)
        threshold = threshold_for_rate(margins(self.P1, C, lam1), self.rate)
        pick, esc = decide(self.P1, self.P2, C, lam1, lam2, threshold)
        self.last_escalated = float(esc.mean()) if len(esc) else 0.0
        return np.asarray(self.strategies, dtype=object)[pick]


def stage1_features(text: str) -> list[str]:
    """A stage-1 feature list from the command line: registered names, comma-separated, or 'free' for
    every feature that needs no model (sizes, shapes, token counts)."""
    from .features import FEATURES
    if text.strip() == "free":
        return [s.name for s in FEATURES.values() if not s.runs_model]
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FEATURES]
    if unknown or not names:
        raise ValueError(f"cascade features {text!r}: unknown {unknown}; registered: {', '.join(FEATURES)}")
    return names
