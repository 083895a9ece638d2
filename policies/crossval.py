"""Leave-families-out cross-validation: each query is scored by models that never saw its family."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .budget import Budget, calibrate_lambda, choose
from .cost_model import CostModel
from .router import fit_router
from .table import Queries, Table


def task_groups(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """task_hash -> the family the log gives it; a row without one (e.g. a served query) is its own group."""
    out: dict[str, str] = {}
    for r in rows:
        if r.get("family"):
            out[r["task_hash"]] = str(r["family"])
        else:
            out.setdefault(r["task_hash"], r["task_hash"])
    return out


def cost_rows(table: Table) -> list[dict[str, Any]]:
    """The (strategy, features, wall_s) rows a CostModel fits on, rebuilt from a table's cells."""
    rows = []
    for i in range(table.n):
        feats = {c: float(v) for c, v in zip(table.feature_names, table.X[i]) if np.isfinite(v)}
        for j, s in enumerate(table.strategies):
            if np.isfinite(table.seconds[i, j]):
                rows.append({"strategy": s, "features": feats, "wall_s": float(table.seconds[i, j])})
    return rows


def feature_dicts(table: Table) -> list[dict[str, float]]:
    return [{c: float(v) for c, v in zip(table.feature_names, x) if np.isfinite(v)} for x in table.X]


def fold_ids(groups: Sequence[str], n_splits: int = 5) -> np.ndarray:
    """The fold each query is scored in by `out_of_fold` (same GroupKFold, same groups): what a
    parameter chosen on labels (a cascade's `pays` threshold) is cross-fitted over."""
    from sklearn.model_selection import GroupKFold
    groups = np.asarray(groups)
    out = np.full(len(groups), -1)
    n_groups = len(set(groups.tolist()))
    splits = GroupKFold(n_splits=min(n_splits, n_groups)).split(np.zeros((len(groups), 1)), groups=groups)
    for f, (_, test) in enumerate(splits):
        out[test] = f
    return out


def out_of_fold(table: Table, groups: Sequence[str], n_splits: int = 5, columns: Sequence[str] | None = None,
                **router_params: Any) -> tuple[np.ndarray, np.ndarray]:
    """(P, C), both (n, k) in `table.strategies` order: P(correct) from a router, and seconds from a
    cost model, each fitted on the other folds (GroupKFold over `groups`, one per query).

    `columns` restricts the router's features (an ablation); the cost model always reads its own
    regressors, so dropping a feature changes what the router knows, not what a strategy costs."""
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    if len(groups) != table.n:
        raise ValueError(f"{len(groups)} groups for {table.n} queries")
    n_groups = len(set(groups.tolist()))
    if n_groups < 2:
        raise ValueError(f"grouped cross-validation needs at least 2 families, the log has {n_groups}")
    cols = list(table.feature_names) if columns is None else list(columns)
    keep = [table.feature_names.index(c) for c in cols]
    P = np.full((table.n, len(table.strategies)), np.nan)
    C = np.full_like(P, np.nan)
    for train, test in GroupKFold(n_splits=min(n_splits, n_groups)).split(table.X, groups=groups):
        tr, te = table.subset(train), table.subset(test)
        router = fit_router(_columns(tr, cols, keep), **router_params)
        P[test] = router.predict_proba(te.X[:, keep])
        C[test] = CostModel().fit(cost_rows(tr)).predict_matrix(feature_dicts(te), table.strategies)
    return P, C


def _columns(table: Table, cols: list[str], keep: list[int]) -> Table:
    from dataclasses import replace
    return replace(table, feature_names=cols, X=table.X[:, keep])


class OutOfFold:
    """A router whose P(correct) per query was computed beforehand (by `out_of_fold`): under a budget
    it calibrates lam on the queries at hand, like baselines.Learned; without one it uses `lam`."""

    def __init__(self, P: np.ndarray, strategies: Sequence[str], lam: float = 0.0):
        self.P = np.asarray(P, dtype=float)
        self.strategies = list(strategies)
        self.lam = lam

    def route(self, q: Queries, budget: Budget | None = None) -> np.ndarray:
        if self.P.shape[0] != q.n:
            raise ValueError(f"{self.P.shape[0]} precomputed queries, {q.n} to route")
        C = q.costs[:, [q.index(s) for s in self.strategies]]
        lam = self.lam
        if budget is not None:
            cheap = self.strategies.index(q.cheap) if q.cheap in self.strategies else int(np.argmin(C.mean(0)))
            lam = calibrate_lambda(self.P, C, budget, cheap=cheap)
        return np.asarray(self.strategies, dtype=object)[choose(self.P, C, lam)]
