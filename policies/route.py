"""Pick a strategy for a task: the shipped learned router when present, else a documented default rule."""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from strategies.task import Task

from .budget import choose
from .bundle import COST_FILE, MANIFEST_FILE, ROUTER_FILE, Bundle, bundle_dir, load_bundle

_CACHE: dict[tuple, Bundle | None] = {}
_LOCK = threading.Lock()


def default_rule(task: Task) -> tuple[str, str]:
    """Before any router is trained: grids go to TTT (ICL scores ~0 on them with a small model); text to ICL."""
    if task.kind == "grid":
        return "ttt", "default rule: grid task, small models need test-time training on grids"
    return "icl", "default rule: text task, in-context learning first"


def shipped(directory: str | Path | None = None) -> Bundle | None:
    """The router bundle in `directory` (default policies/shipped/, or $TTTC_ROUTER_DIR), loaded once
    and reloaded when one of its files changes; None when there is none."""
    d = Path(directory) if directory is not None else bundle_dir()
    stamp = tuple((d / f).stat().st_mtime_ns if (d / f).exists() else None
                  for f in (ROUTER_FILE, COST_FILE, MANIFEST_FILE))
    key = (str(d.resolve()), stamp)
    with _LOCK:
        if key not in _CACHE:
            _CACHE.clear()   # one folder in use at a time; an older version is never needed again
            _CACHE[key] = load_bundle(d)
        return _CACHE[key]


def _specs(columns: list[str] | set[str], with_model: bool = True) -> list[str]:
    """Registered feature names that return any of these columns (only model-free ones if not with_model)."""
    from .features import FEATURES
    cols = set(columns)
    return [s.name for s in FEATURES.values() if cols & set(s.keys) and (with_model or s.needs == "none")]


def needed_features(directory: str | Path | None = None) -> list[str]:
    """Feature names the shipped router and its cost model read, so that a caller computes just those;
    none without a shipped router (the default rule reads no feature)."""
    bundle = shipped(directory)
    if bundle is None:
        return []
    return _specs(bundle.feature_names + list(bundle.cost_model.regressors))


def _values(task: Task, runtime: Any, features: Any, columns: list[str]) -> dict[str, float]:
    """Given feature values, plus whichever of `columns` they lack and can be computed here (model
    features need a runtime); what cannot be computed stays missing and the router imputes it."""
    from .features import featurize
    given = {} if features is None else dict(features) if isinstance(features, Mapping) else dict(features.values)
    specs = _specs({c for c in columns if c not in given}, with_model=runtime is not None)
    if specs:
        given.update(featurize(task, runtime, names=specs).values)
    return given


def _secs(s: float) -> str:
    return f"{s:.1f}" if s < 10 else f"{s:.0f}"


def route(task: Task, runtime: Any, features: Any = None, directory: str | Path | None = None) -> tuple[str, str]:
    """Return (strategy name, one-line reason). With a shipped router: the strategy of highest
    P(correct) - lam*predicted seconds among those registered here; `features` (a Features or a
    dict of values) are reused and only the missing ones computed."""
    bundle = shipped(directory)
    if bundle is None:
        return default_rule(task)
    from strategies.library import registry

    names = bundle.feature_names
    regressors = list(bundle.cost_model.regressors)
    values = _values(task, runtime, features, names + regressors)
    x = np.array([[values.get(c, math.nan) for c in names]], dtype=float)
    strategies = bundle.strategies
    P = bundle.router.predict_proba(x)[0]
    C = np.array([bundle.cost_model.predict(values, s) for s in strategies])
    usable = np.array([s in registry().names() for s in strategies])
    if not usable.any():
        name, why = default_rule(task)
        return name, f"{why} (the shipped router's strategies {strategies} are not in the library)"
    P_usable = np.where(usable, P, -np.inf)   # a strategy this process cannot run is never chosen
    best = int(choose(P_usable[None], C[None], bundle.lam)[0])
    U = P_usable - bundle.lam * C
    order = [j for j in np.argsort(-U, kind="stable") if j != best and usable[j]]
    alt = f" vs {strategies[order[0]]} {P[order[0]]:.2f}" if order else ""
    trained_on = bundle.manifest.get("model_id")
    other = getattr(runtime, "model_id", None)
    caveat = f" (router trained on {trained_on} outcomes)" if trained_on and other and other != trained_on else ""
    return strategies[best], f"{strategies[best]}: P(correct) {P[best]:.2f}{alt}, ~{_secs(C[best])} s{caveat}"
