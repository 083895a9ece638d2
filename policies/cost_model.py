"""Wall seconds each strategy will take on a task: per strategy, a non-negative linear fit on size features."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

# time grows with what is read and what is written; both are model-free, so the cost model works
# even when featurize ran without a model (prompt_chars tracks tokens: one per grid cell)
REGRESSORS = ("prompt_chars", "answer_size")
MIN_ROWS = 8   # fewer rows than this for a strategy: use its median, a line would be noise


def _values(features: Any) -> Mapping[str, float]:
    return features if isinstance(features, Mapping) else features.values   # a dict, or a Features


class CostModel:
    """seconds = a + b*prompt_chars + c*answer_size per strategy, with a, b, c >= 0 (NNLS).

    A strategy with fewer than `min_rows` logged runs, or a query missing a regressor, gets the
    strategy's median seconds instead.
    """

    def __init__(self, regressors: Sequence[str] = REGRESSORS, min_rows: int = MIN_ROWS):
        self.regressors = tuple(regressors)
        self.min_rows = min_rows

    def fit(self, rows: Iterable[Mapping[str, Any]]) -> "CostModel":
        """`rows`: outcome-log rows (strategy, features, wall_s)."""
        from scipy.optimize import nnls

        from .table import answer_seconds
        by: dict[str, list[tuple[list[float], float]]] = {}
        for r in rows:
            f = r.get("features") or {}
            x = [1.0] + [float(f.get(c, np.nan)) for c in self.regressors]
            by.setdefault(r["strategy"], []).append((x, answer_seconds(r)))
        if not by:
            raise ValueError("no rows to fit the cost model on")
        self.coef_: dict[str, list[float]] = {}
        self.median_: dict[str, float] = {}
        self.n_rows_: dict[str, int] = {}
        for strategy, data in by.items():
            X = np.array([x for x, _ in data])
            y = np.array([s for _, s in data])
            self.median_[strategy] = float(np.median(y))
            self.n_rows_[strategy] = len(y)
            ok = np.isfinite(X).all(axis=1)
            if ok.sum() >= self.min_rows:
                coef, _ = nnls(X[ok], y[ok])
                self.coef_[strategy] = coef.tolist()
        return self

    @property
    def strategies(self) -> list[str]:
        return list(self.median_)

    def predict(self, features: Any, strategy: str) -> float:
        """Predicted wall seconds of `strategy` on a task with these features (a dict or Features)."""
        if not hasattr(self, "median_"):
            raise RuntimeError("this CostModel is not fitted yet; call fit(rows) first")
        if strategy not in self.median_:
            raise KeyError(f"no cost data for strategy {strategy!r}; known: {sorted(self.median_)}")
        coef = self.coef_.get(strategy)
        f = _values(features)
        x = [1.0] + [float(f.get(c, np.nan)) for c in self.regressors]
        if coef is None or not np.isfinite(x).all():
            return self.median_[strategy]
        return float(np.dot(coef, x))

    def predict_matrix(self, feature_rows: Sequence[Any], strategies: Sequence[str]) -> np.ndarray:
        """(n, k) predicted seconds, one row per task and one column per strategy."""
        return np.array([[self.predict(f, s) for s in strategies] for f in feature_rows]
                        ).reshape(len(feature_rows), len(strategies))

    def to_json(self) -> dict[str, Any]:
        return {"regressors": list(self.regressors), "min_rows": self.min_rows, "coef": self.coef_,
                "median": self.median_, "n_rows": self.n_rows_}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "CostModel":
        m = cls(d["regressors"], int(d["min_rows"]))
        m.coef_ = {str(k): [float(c) for c in v] for k, v in d["coef"].items()}
        m.median_ = {str(k): float(v) for k, v in d["median"].items()}
        m.n_rows_ = {str(k): int(v) for k, v in d["n_rows"].items()}
        for s, c in m.coef_.items():
            if len(c) != len(m.regressors) + 1 or s not in m.median_:
                raise ValueError(f"cost model for {s!r}: {len(c)} coefficients for {len(m.regressors)} regressors")
        return m
