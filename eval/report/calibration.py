"""How well the router's P(correct) matches what happened: reliability bins, expected calibration error, Brier."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.table import Table

N_BINS = 10


@dataclass(frozen=True)
class Reliability:
    """One strategy's predictions against outcomes, in equal-width bins of P(correct)."""
    strategy: str
    n: int
    counts: np.ndarray        # (N_BINS,) predictions per bin
    mean_p: np.ndarray        # (N_BINS,) mean predicted P(correct); NaN in empty bins
    observed: np.ndarray      # (N_BINS,) share actually correct; NaN in empty bins
    ece: float                # expected calibration error: count-weighted |mean_p - observed|
    brier: float              # mean squared error of P(correct)


def reliability(strategy: str, p: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> Reliability:
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)   # P = 1 falls in the last bin
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(bins, weights=p, minlength=n_bins) / counts
        observed = np.bincount(bins, weights=y, minlength=n_bins) / counts
    used = counts > 0
    ece = float(np.sum(counts[used] * np.abs(mean_p[used] - observed[used])) / len(p))
    return Reliability(strategy, len(p), counts, mean_p, observed, ece, float(np.mean((p - y) ** 2)))


def router_reliability(router, table: Table) -> list[Reliability]:
    """Per strategy the router knows and the table has: its P(correct) on every query with feedback."""
    names = getattr(router, "feature_names_in_", None)
    if names is None:
        X = table.X
    else:
        cols = {c: i for i, c in enumerate(table.feature_names)}
        X = np.column_stack([table.X[:, cols[c]] if c in cols else np.full(table.n, np.nan) for c in names]
                            ).reshape(table.n, len(names))
    P = router.predict_proba(X)
    out = []
    for j, s in enumerate(map(str, router.strategies_)):
        if s not in table.strategies:
            continue
        y = table.correct[:, table.strategies.index(s)]
        seen = ~np.isnan(y)
        if seen.any():
            out.append(reliability(s, P[seen, j], y[seen]))
    return out
