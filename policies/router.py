"""The learned router: one P(correct) classifier per strategy; route to argmax P(correct) - lam*seconds."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted

from .budget import choose
from .table import Table, to_matrix


# -- per-strategy scorers: what a fitted column keeps, and what save/load writes -------------------
@dataclass
class Constant:
    """A strategy whose training labels were all one class: that rate for every query."""
    p: float

    def p_correct(self, X: np.ndarray) -> np.ndarray:
        return np.full(X.shape[0], self.p)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "constant", "p": self.p}


@dataclass
class Linear:
    """Logistic regression on median-imputed, standardised features, as plain arrays."""
    fill: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def p_correct(self, X: np.ndarray) -> np.ndarray:
        Z = (np.where(np.isnan(X), self.fill, X) - self.mean) / self.scale
        return 0.5 * (1.0 + np.tanh((Z @ self.coef + self.intercept) / 2))   # the logistic, overflow-free

    def to_json(self) -> dict[str, Any]:
        return {"kind": "linear", "fill": self.fill.tolist(), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept}


@dataclass
class Fitted:
    """Any fitted scikit-learn binary classifier; saved with skops (never pickle)."""
    model: Any

    def p_correct(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X)[:, list(self.model.classes_).index(1.0)]

    def to_json(self) -> dict[str, Any]:
        import zipfile

        import skops.io as sio
        # deflated: a boosted-tree router is ~4x smaller (it is committed, and every version stays in git)
        data = sio.dumps(self.model, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        return {"kind": "skops", "data": base64.b64encode(data).decode()}


def _fit_logreg(router: "StrategyRouter", X: np.ndarray, y: np.ndarray) -> Linear:
    from sklearn.linear_model import LogisticRegression
    empty = np.isnan(X).all(axis=0)              # a feature never seen in training is filled with 0
    fill = np.nanmedian(np.where(empty, 0.0, X), axis=0)
    Xf = np.where(np.isnan(X), fill, X)
    mean, scale = Xf.mean(axis=0), Xf.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)      # a constant feature stays 0 after scaling
    clf = LogisticRegression(C=router.C, max_iter=router.max_iter, random_state=router.random_state)
    clf.fit((Xf - mean) / scale, y)              # classes_ is [0., 1.]: coef_ points towards correct
    return Linear(fill, mean, scale, clf.coef_[0].copy(), float(clf.intercept_[0]))


def _fit_hgb(router: "StrategyRouter", X: np.ndarray, y: np.ndarray) -> Fitted:
    from sklearn.ensemble import HistGradientBoostingClassifier
    # why min_samples_leaf=5: logs are small (tens to hundreds of tasks); the default 20 fits nothing
    clf = HistGradientBoostingClassifier(l2_regularization=1.0 / router.C, min_samples_leaf=5,
                                         max_iter=router.max_iter, random_state=router.random_state)
    return Fitted(clf.fit(X, y))


# name -> fit(router, X, y) for one strategy's 0/1 labels (both classes present)
ESTIMATORS: dict[str, Callable[["StrategyRouter", np.ndarray, np.ndarray], Any]] = {
    "logreg": _fit_logreg,
    "hgb": _fit_hgb,
}


class StrategyRouter(BaseEstimator):
    """P(correct) per strategy from task features; `predict` picks argmax P(correct) - lam*seconds.

    fit(X, Y): X is (n, d) features, Y is (n, k) 0/1 correctness of each of k strategies (NaN where
    a strategy was not run on a query; that cell is left out of that strategy's fit).
    """

    def __init__(self, estimator: str = "logreg", C: float = 1.0, lam: float = 0.0, max_iter: int = 200,
                 random_state: int | None = None):
        self.estimator = estimator        # a key of ESTIMATORS
        self.C = C                        # inverse regularisation strength
        self.lam = lam                    # accuracy given up per predicted second
        self.max_iter = max_iter          # solver iterations (logreg) or boosting rounds (hgb)
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True          # missing features are imputed
        tags.target_tags.required = True
        tags.target_tags.multi_output = True      # one column per strategy
        tags.target_tags.single_output = False
        return tags

    # -- input handling -------------------------------------------------------------------------
    def _matrix(self, X: Any, reset: bool) -> np.ndarray:
        if isinstance(X, Sequence) and len(X) and isinstance(X[0], Mapping):
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError("feature dicts need feature names; fit with feature_names=... first")
            X = to_matrix(X, list(names))
        X = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return X

    def _targets(self, Y: Any, n: int) -> np.ndarray:
        if Y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        Y = np.asarray(Y, dtype=float)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.ndim != 2 or Y.shape[0] != n:
            raise ValueError(f"Y must be (n_queries, n_strategies) = ({n}, k), got shape {Y.shape}")
        bad = ~(np.isnan(Y) | (Y == 0) | (Y == 1))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"Y holds correctness, 0 or 1 (NaN: not run); Y[{i}, {j}] = {Y[i, j]}")
        return Y

    # -- fit and predict ------------------------------------------------------------------------
    def fit(self, X: Any, Y: Any, costs: Any = None, feature_names: Sequence[str] | None = None,
            strategy_names: Sequence[str] | None = None) -> "StrategyRouter":
        """`costs` (n, k) observed seconds give each strategy's mean cost, used when predict gets none."""
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator={self.estimator!r}; known: {sorted(ESTIMATORS)}")
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        X = self._matrix(X, reset=True)
        Y = self._targets(Y, X.shape[0])
        if feature_names is not None and len(feature_names) != X.shape[1]:
            raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} columns")
        k = Y.shape[1]
        names = list(strategy_names) if strategy_names is not None else [f"s{j}" for j in range(k)]
        if len(names) != k or len(set(names)) != k:
            raise ValueError(f"strategy_names must be {k} distinct names, got {names}")
        self.strategies_ = np.asarray(names, dtype=object)
        self.models_ = []
        for j in range(k):
            seen = ~np.isnan(Y[:, j])
            y = Y[seen, j]
            if len(y) == 0:
                raise ValueError(f"strategy {names[j]!r} has no labelled queries")
            if (y == y[0]).all():
                self.models_.append(Constant(float(y[0])))
            else:
                self.models_.append(ESTIMATORS[self.estimator](self, X[seen], y))
        if costs is None:
            self.mean_cost_ = np.zeros(k)
        else:
            C = np.asarray(costs, dtype=float).reshape(X.shape[0], k)
            if np.isnan(C).all(0).any():
                raise ValueError("costs: a strategy has no observed seconds")
            self.mean_cost_ = np.nanmean(C, axis=0)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, k) P(correct) of each strategy, columns in `strategies_` order."""
        check_is_fitted(self, "models_")
        X = self._matrix(X, reset=False)
        return np.column_stack([m.p_correct(X) for m in self.models_])

    def utility(self, X: Any, costs: Any = None, lam: float | None = None) -> np.ndarray:
        """P(correct) - lam*seconds; costs (n, k) default to the per-strategy means seen in fit."""
        P = self.predict_proba(X)
        return P - (self.lam if lam is None else lam) * self._costs(costs, P.shape)

    def predict(self, X: Any, costs: Any = None, lam: float | None = None) -> np.ndarray:
        """The strategy name with the highest utility per query (ties: the cheaper strategy)."""
        P = self.predict_proba(X)
        idx = choose(P, self._costs(costs, P.shape), self.lam if lam is None else lam)
        return self.strategies_[idx]

    def _costs(self, costs: Any, shape: tuple[int, int]) -> np.ndarray:
        if costs is None:
            return np.broadcast_to(self.mean_cost_, shape)
        C = np.asarray(costs, dtype=float)
        if C.shape != shape:
            raise ValueError(f"costs must be {shape} (queries, strategies), got {C.shape}")
        return C


def fit_router(table: Table, **params: Any) -> StrategyRouter:
    """Fit a StrategyRouter on a pivoted outcome table (see policies.table.pivot)."""
    return StrategyRouter(**params).fit(table.X, table.correct, costs=table.seconds,
                                        feature_names=table.feature_names, strategy_names=table.strategies)
