"""Routing data: per-query features and per-strategy outcomes, pivoted from the outcome log's rows."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import numpy as np


def to_matrix(feature_rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
    """(n, d) float matrix in `names` order; NaN where a row lacks a feature."""
    return np.array([[float(r.get(c, np.nan)) for c in names] for r in feature_rows], dtype=float
                    ).reshape(len(feature_rows), len(names))


@dataclass(frozen=True)
class Queries:
    """What a router may see: features, strategy names and each strategy's predicted seconds per query."""
    X: np.ndarray              # (n, d)
    feature_names: list[str]
    strategies: list[str]
    costs: np.ndarray          # (n, k) predicted seconds
    cheap: str                 # the default route; every other strategy counts as an expensive call

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def column(self, name: str) -> np.ndarray:
        if name not in self.feature_names:
            raise KeyError(f"feature {name!r} is not in this table; it has {self.feature_names}")
        return self.X[:, self.feature_names.index(name)]

    def index(self, strategy: str) -> int:
        if strategy not in self.strategies:
            raise KeyError(f"strategy {strategy!r} is not in this table; it has {self.strategies}")
        return self.strategies.index(strategy)


@dataclass(frozen=True)
class Table:
    """Queries (rows) by strategies (columns): whether each strategy was right, and what it took."""
    keys: list[str]            # one per query: the task hash
    feature_names: list[str]
    strategies: list[str]
    X: np.ndarray              # (n, d) features, NaN where missing
    correct: np.ndarray        # (n, k) 1.0 / 0.0, NaN where not run or no feedback yet
    seconds: np.ndarray        # (n, k) wall seconds, NaN where not run
    cheap: str = "icl"

    def __post_init__(self) -> None:
        n, k = len(self.keys), len(self.strategies)
        for name, arr, shape in (("X", self.X, (n, len(self.feature_names))), ("correct", self.correct, (n, k)),
                                 ("seconds", self.seconds, (n, k))):
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
        if self.cheap not in self.strategies:
            raise ValueError(f"cheap strategy {self.cheap!r} is not among {self.strategies}")

    @classmethod
    def from_arrays(cls, correct: Any, seconds: Any, strategies: Sequence[str], X: Any = None,
                    feature_names: Sequence[str] | None = None, cheap: str | None = None) -> "Table":
        correct = np.asarray(correct, dtype=float)
        n = correct.shape[0]
        X = np.zeros((n, 0)) if X is None else np.asarray(X, dtype=float)
        names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(X.shape[1])]
        return cls([str(i) for i in range(n)], names, list(strategies), X, correct,
                   np.asarray(seconds, dtype=float), cheap if cheap is not None else strategies[0])

    @property
    def n(self) -> int:
        return len(self.keys)

    def complete(self) -> "Table":
        """Only the queries where every strategy has both an outcome and its seconds."""
        ok = ~(np.isnan(self.correct).any(1) | np.isnan(self.seconds).any(1))
        return self.subset(ok)

    def subset(self, rows: Any) -> "Table":
        rows = np.asarray(rows)
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows
        return replace(self, keys=[self.keys[i] for i in idx], X=self.X[idx],
                       correct=self.correct[idx], seconds=self.seconds[idx])

    def queries(self, costs: np.ndarray | None = None) -> Queries:
        """The router's view. Without `costs` (e.g. a cost model's predictions), each strategy is
        given its median observed seconds for every query, so no router sees one query's own timing."""
        if costs is None:
            med = np.array([np.nanmedian(c) if np.isfinite(c).any() else 0.0 for c in self.seconds.T])
            costs = np.broadcast_to(med, self.seconds.shape).copy()
        return Queries(self.X, self.feature_names, self.strategies, np.asarray(costs, dtype=float), self.cheap)


def answer_seconds(row: Mapping[str, Any]) -> float:
    """A row's seconds spent answering: its wall time less any seconds a router spent deciding (the
    strategy's own cost, which a router weighs; its deciding is the router's cost, counted apart)."""
    return float(row["wall_s"]) - float((row.get("cost") or {}).get("decide_s", 0.0))


def _when(row: Mapping[str, Any]) -> float:
    t = row.get("created_at")
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()
    return float("-inf")


def pivot(rows: Iterable[Mapping[str, Any]], feature_names: Sequence[str] | None = None,
          strategies: Sequence[str] | None = None, cheap: str = "icl", model_id: str | None = None) -> Table:
    """Long outcome-log rows (task_hash, strategy, features, correct, wall_s, model_id, created_at)
    into a Table. Where a (task, strategy) was run more than once, the latest row with feedback wins
    (else the latest row). Rows of several models need `model_id` to pick one."""
    rows = [r for r in rows if model_id is None or r["model_id"] == model_id]
    models = {r["model_id"] for r in rows}
    if len(models) > 1:
        raise ValueError(f"rows from several models {sorted(models)}; pass model_id to choose one")
    rows.sort(key=lambda r: (r.get("correct") is not None, _when(r)))  # stable; winners last
    cell: dict[tuple[str, str], Mapping[str, Any]] = {}
    feats: dict[str, dict[str, float]] = {}
    for r in rows:
        cell[(r["task_hash"], r["strategy"])] = r
        feats.setdefault(r["task_hash"], {}).update(r.get("features") or {})
    keys = list(feats)
    if strategies is None:
        seen = sorted({s for _, s in cell})
        strategies = ([cheap] if cheap in seen else []) + [s for s in seen if s != cheap]
    strategies = list(strategies)
    if feature_names is None:
        feature_names = sorted({c for f in feats.values() for c in f})
    correct = np.full((len(keys), len(strategies)), np.nan)
    seconds = np.full_like(correct, np.nan)
    for i, key in enumerate(keys):
        for j, s in enumerate(strategies):
            r = cell.get((key, s))
            if r is not None:
                correct[i, j] = np.nan if r.get("correct") is None else float(r["correct"])
                seconds[i, j] = answer_seconds(r)
    X = to_matrix([feats[k] for k in keys], feature_names)
    return Table(keys, list(feature_names), strategies, X, correct, seconds,
                 cheap if cheap in strategies else strategies[0])
