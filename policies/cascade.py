"""Two-stage routing: decide on cheap features when the choice is clear, pay for model features only when not.

Model features (leave-one-out ICL, the self-consistency probe, perplexities, the learnability probe) cost
7-20 s per query on one CPU core, a sixth to a half of a `ttt` run, and most queries do not need them: a stage-1 router on the
model-free features (sizes, shapes, token counts: milliseconds) already knows that a 10x10 grid is
hopeless for ICL or that a short text task is easy. Stage 1 picks the strategy of highest utility
P1 - lam1*C; when the margin to the runner-up is below a threshold, the query *escalates*: its
model features are computed and the full router decides (P2 - lam2*C).

The threshold is set one of two ways. To a rate, like lam to a budget: the share of queries that
escalate, whatever the escalation features cost. Or to what pays (`PAYS`): the threshold that maximises
the realised utility, correct - lam*(strategy seconds + escalation feature seconds), on logged outcomes,
so that a probe that costs more than it changes buys nothing (`threshold_that_pays`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .budget import TIE, Budget, calibrate_lambda, choose
from .table import Queries

PAYS = "pays"   # --escalate pays: the threshold that maximises realised utility, escalation features' seconds counted


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
    return _cut(s, int(round(rate * len(s))))


def _cut(s: np.ndarray, k: int) -> float:
    """The threshold below which the k smallest of the sorted margins `s` fall."""
    if k <= 0:
        return float("-inf")
    if k >= len(s):
        return float("inf")
    lo, hi = s[k - 1], s[k]
    if np.isinf(hi):   # margins are infinite only with a single strategy: nothing to decide there
        return float(lo + 1.0) if np.isfinite(lo) else float("inf")
    return float((lo + hi) / 2)


def escalation_gain(P1: np.ndarray, P2: np.ndarray, C: np.ndarray, lam1: float, lam2: float, correct: np.ndarray,
                    seconds: np.ndarray, feature_seconds: np.ndarray) -> np.ndarray:
    """Per query, what escalating it would have changed in realised utility: the full router's pick minus
    stage 1's, each scored as correct - lam*seconds on the logged outcome, less lam times the escalation
    features' seconds. lam is the full router's, the price of a second at this budget (0 where the
    budget asks for more seconds than the router would spend: seconds are then not scarce). A query
    whose two picks agree only pays; one with an unknown outcome counts no change but the features."""
    price = max(float(lam2), 0.0)
    rows = np.arange(len(P1))
    p1, p2 = choose(P1, C, lam1), choose(P2, C, lam2)
    u = np.asarray(correct, dtype=float) - price * np.asarray(seconds, dtype=float)
    change = np.nan_to_num(u[rows, p2] - u[rows, p1], nan=0.0)
    return change - price * np.asarray(feature_seconds, dtype=float)


def threshold_that_pays(m: np.ndarray, gain: np.ndarray) -> float:
    """The margin threshold whose escalations sum the largest `gain` (see escalation_gain): the queries
    escalated are always those of smallest stage-1 margin, so the choice is how many; cuts fall only
    between distinct margins (a threshold cannot split a tie) and, on equal sums, the fewest escalations
    win. Escalates nothing when no cut gains, e.g. when the features cost more than any pick can win."""
    m, gain = np.asarray(m, dtype=float), np.asarray(gain, dtype=float)
    order = np.argsort(m, kind="stable")
    s = m[order]
    total = np.concatenate([[0.0], np.cumsum(gain[order])])   # total[k]: the k smallest margins escalate
    ok = np.ones(len(s) + 1, dtype=bool)
    ok[1:-1] = s[:-1] < s[1:]
    cuts = np.flatnonzero(ok)
    k = int(cuts[np.argmax(total[cuts] >= total[cuts].max() - TIE)])   # the first (fewest) that reaches the best
    return _cut(s, k)


def escalate(P1: np.ndarray, C: np.ndarray, lam1: float, threshold: float | np.ndarray) -> np.ndarray:
    """Which queries stage 1 is unsure of: a margin below `threshold` (one, or one per query)."""
    return margins(P1, C, lam1) < threshold


def decide(P1: np.ndarray, P2: np.ndarray, C: np.ndarray, lam1: float, lam2: float,
           threshold: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(strategy index per query, escalated mask): stage 1's choice, or stage 2's where stage 1 is unsure.
    P2 rows of queries that do not escalate are never read (they may be NaN: features not computed)."""
    esc = escalate(P1, C, lam1, threshold)
    pick = choose(P1, C, lam1)
    if esc.any():
        pick[esc] = choose(P2[esc], C[esc], lam2)
    return pick, esc


class CascadeOOF:
    """Cross-validated cascade for the benchmark: P1 (stage-1 features) and P2 (all features) computed
    out of fold; under a budget each stage's lam is calibrated to it, and the queries with the smallest
    stage-1 margins escalate: a `rate` of them, or (rate PAYS) as many as pays on the logged `correct`
    and `seconds` (n, k in `strategies` order), the threshold for each of `folds` chosen on the other
    folds only, as the probabilities were (None: on every query, in-sample).

    `feature_seconds` are each query's escalation feature seconds (default 0). `last_escalated` and
    `last_featurizing` are the latest route() call's escalated share and mean escalation seconds per query,
    and `spent` holds them for every budget routed at."""

    def __init__(self, P1: np.ndarray, P2: np.ndarray, strategies: Sequence[str], rate: float | str,
                 feature_seconds: np.ndarray | None = None, correct: np.ndarray | None = None,
                 seconds: np.ndarray | None = None, folds: np.ndarray | None = None):
        self.P1, self.P2 = np.asarray(P1, dtype=float), np.asarray(P2, dtype=float)
        self.strategies = list(strategies)
        self.rate = rate
        if rate == PAYS and (correct is None or seconds is None):
            raise ValueError("escalating where it pays needs the logged outcomes (correct and seconds)")
        self.feature_seconds = np.zeros(len(self.P1)) if feature_seconds is None else np.asarray(feature_seconds, float)
        self.correct, self.seconds, self.folds = correct, seconds, folds
        self.last_escalated = self.last_featurizing = 0.0
        self.spent: dict[Budget | None, tuple[float, float]] = {}

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        if self.P1.shape[0] != q.n:
            raise ValueError(f"{self.P1.shape[0]} precomputed queries, {q.n} to route")
        C = q.costs[:, [q.index(s) for s in self.strategies]]
        lam1 = lam2 = 0.0
        if budget is not None:
            cheap = self.strategies.index(q.cheap) if q.cheap in self.strategies else int(np.argmin(C.mean(0)))
            lam1 = calibrate_lambda(self.P1, C, budget, cheap=cheap)
            lam2 = calibrate_lambda(self.P2, C, budget, cheap=cheap)
        m = margins(self.P1, C, lam1)
        if self.rate == PAYS:
            gain = escalation_gain(self.P1, self.P2, C, lam1, lam2, self.correct, self.seconds, self.feature_seconds)
            threshold = self._cross_fitted(m, gain)
        else:
            threshold = threshold_for_rate(m, float(self.rate))
        pick, esc = decide(self.P1, self.P2, C, lam1, lam2, threshold)
        self.last_escalated = float(esc.mean()) if len(esc) else 0.0
        self.last_featurizing = float(np.mean(esc * self.feature_seconds)) if len(esc) else 0.0
        self.spent[budget] = (self.last_escalated, self.last_featurizing)
        return np.asarray(self.strategies, dtype=object)[pick]

    def _cross_fitted(self, m: np.ndarray, gain: np.ndarray) -> np.ndarray | float:
        """Per query, the threshold chosen on the other folds' margins and gains (their labels are the
        only ones it may read); in-sample without folds."""
        if self.folds is None:
            return threshold_that_pays(m, gain)
        folds = np.asarray(self.folds)
        out = np.empty(len(m))
        for f in np.unique(folds):
            test = folds == f
            out[test] = threshold_that_pays(m[~test], gain[~test]) if (~test).any() else float("-inf")
        return out


def parse_escalate(text: str) -> float | str:
    """An --escalate value: PAYS, or the share of queries to escalate, in [0, 1]."""
    if text.strip() == PAYS:
        return PAYS
    try:
        rate = float(text)
    except ValueError:
        rate = float("nan")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"--escalate {text}: expected '{PAYS}' or a share in [0, 1]")
    return rate


def escalation_features(columns: Sequence[str], stage1_columns: Sequence[str]) -> list[str]:
    """Registered feature names the full router reads (its `columns`) that stage 1 does not: what a query
    pays for when it escalates."""
    from .features import FEATURES

    def used(cols: Sequence[str]) -> list[str]:
        return [s.name for s in FEATURES.values() if set(s.keys) & set(cols)]
    first = used(stage1_columns)
    return [n for n in used(columns) if n not in first]


def escalation_seconds(keys: Sequence[str], names: Sequence[str], by_task: Mapping[str, Mapping[str, float]],
                       means: Mapping[str, float] | None = None, require: bool = False) -> np.ndarray:
    """Per query (task hash), the recorded seconds of the features `names`, summed (by_task: task hash ->
    feature -> seconds, as `OutcomeLog.feature_costs.by_task`); a feature a task has no record of
    counts its mean over the tasks that have one (or `means[name]`), 0 when no task has one, or, with
    `require` (a threshold that weighs these seconds), is an error: unrecorded is not free."""
    if means is None:
        recorded = {n: [c[n] for c in by_task.values() if n in c] for n in names}
        means = {n: float(np.mean(v)) for n, v in recorded.items() if v}
    unknown = [n for n in names if n not in means]
    if require and unknown:
        raise ValueError(f"escalating where it pays weighs the escalation features' recorded seconds; the log has "
                         f"none for {unknown} (collect with feature costs, or give a rate)")
    return np.array([sum(by_task.get(k, {}).get(n, means.get(n, 0.0)) for n in names) for k in keys], dtype=float)


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
