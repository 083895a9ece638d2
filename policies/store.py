"""Save and load fitted routers and cost models as tagged JSON (skops inside for tree models; never pickle)."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .cost_model import CostModel
from .router import Constant, Fitted, Linear, StrategyRouter

ROUTER_FORMAT = "ttt-controller/strategy-router"
COST_FORMAT = "ttt-controller/cost-model"
FORMAT_VERSION = 1
# types a skops-embedded model may contain; anything else is refused rather than trusted
SKOPS_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


class ModelFileError(ValueError):
    """A file that is not a model this package saved, or is damaged; the message says which and why."""


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("ttt-controller")
    except PackageNotFoundError:
        return "unknown"


def _write(path: str | Path, doc: dict[str, Any]) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False))
    os.replace(tmp, path)   # a crash mid-save never leaves half a file under the real name
    return path


def _read(path: str | Path, fmt: str) -> dict[str, Any]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: not a {fmt} file (not JSON: {e}); pickles are never loaded") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ModelFileError(f"{path}: not a {fmt} file (format tag is {found!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: {fmt} format version {doc.get('format_version')!r}; "
                             f"this package reads version {FORMAT_VERSION}")
    return doc


def _envelope(fmt: str) -> dict[str, Any]:
    return {"format": fmt, "format_version": FORMAT_VERSION, "package_version": package_version()}


# -- routers --------------------------------------------------------------------------------------
def save_router(router: StrategyRouter, path: str | Path) -> Path:
    from sklearn.utils.validation import check_is_fitted
    check_is_fitted(router, "models_")
    names = getattr(router, "feature_names_in_", None)
    doc = _envelope(ROUTER_FORMAT) | {
        "params": router.get_params(),
        "strategies": [str(s) for s in router.strategies_],
        "feature_names": None if names is None else [str(n) for n in names],
        "n_features_in": int(router.n_features_in_),
        "mean_cost": [float(c) for c in router.mean_cost_],
        "models": [m.to_json() for m in router.models_],
    }
    return _write(path, doc)


def _scorer(d: dict[str, Any], n_features: int) -> Any:
    kind = d.get("kind")
    if kind == "constant":
        return Constant(float(d["p"]))
    if kind == "linear":
        arrays = {k: np.asarray(d[k], dtype=float) for k in ("fill", "mean", "scale", "coef")}
        if any(a.shape != (n_features,) for a in arrays.values()):
            raise ValueError(f"linear model arrays must have {n_features} entries")
        return Linear(**arrays, intercept=float(d["intercept"]))
    if kind == "skops":
        import skops.io as sio
        data = base64.b64decode(d["data"], validate=True)
        types = sio.get_untrusted_types(data=data)
        foreign = [t for t in types if not t.startswith(SKOPS_TRUSTED_PREFIXES)]
        if foreign:
            raise ValueError(f"embedded model contains untrusted types {foreign}")
        return Fitted(sio.loads(data, trusted=types))
    raise ValueError(f"unknown model kind {kind!r}")


def load_router(path: str | Path) -> StrategyRouter:
    """A router saved by `save_router`; a foreign, damaged or incompatible file raises ModelFileError."""
    doc = _read(path, ROUTER_FORMAT)
    try:
        router = StrategyRouter(**doc["params"])
        strategies, models = list(doc["strategies"]), list(doc["models"])
        n = int(doc["n_features_in"])
        if len(models) != len(strategies) or len(doc["mean_cost"]) != len(strategies):
            raise ValueError(f"{len(strategies)} strategies but {len(models)} models "
                             f"and {len(doc['mean_cost'])} costs")
        if doc["feature_names"] is not None:
            if len(doc["feature_names"]) != n:
                raise ValueError(f"{len(doc['feature_names'])} feature names for {n} features")
            router.feature_names_in_ = np.asarray(doc["feature_names"], dtype=object)
        router.n_features_in_ = n
        router.strategies_ = np.asarray(strategies, dtype=object)
        router.mean_cost_ = np.asarray(doc["mean_cost"], dtype=float)
        router.models_ = [_scorer(m, n) for m in models]
    except (KeyError, TypeError, ValueError) as e:
        what = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise ModelFileError(f"{path}: damaged {ROUTER_FORMAT} file: {what}") from None
    return router


# -- cost models ----------------------------------------------------------------------------------
def save_cost_model(model: CostModel, path: str | Path) -> Path:
    if not hasattr(model, "median_"):
        raise RuntimeError("this CostModel is not fitted yet; call fit(rows) first")
    return _write(path, _envelope(COST_FORMAT) | {"model": model.to_json()})


def load_cost_model(path: str | Path) -> CostModel:
    doc = _read(path, COST_FORMAT)
    try:
        return CostModel.from_json(doc["model"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        what = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise ModelFileError(f"{path}: damaged {COST_FORMAT} file: {what}") from None
