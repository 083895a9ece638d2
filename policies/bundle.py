"""A shipped router: router.json, cost_model.json and manifest.json in one folder, saved and loaded together."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

from strategies.settings import settings

from .cost_model import CostModel
from .router import StrategyRouter
from .store import FORMAT_VERSION, ModelFileError, load_cost_model, load_router, package_version, save_cost_model, save_router

SHIPPED = Path(str(files(__package__) / "shipped"))   # package data: what `route()` uses unless $TTTC_ROUTER_DIR says otherwise
ROUTER_FILE, COST_FILE, MANIFEST_FILE = "router.json", "cost_model.json", "manifest.json"
STAGE1_FILE = "router-stage1.json"   # a cascade's cheap-feature router (policies/cascade.py), when there is one
MANIFEST_FORMAT = "ttt-controller/router-manifest"


BY_MODEL = "by-model"   # SHIPPED/by-model/<model id>/: a router trained on another model's outcomes


def model_dir_name(model_id: str) -> str:
    """A model id as a folder name (`gemma3-270m+gemma3-270m-adapt` stays as it is)."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", model_id)


def bundle_dir(model_id: str | None = None) -> Path:
    """Where the router for `model_id` lives: $TTTC_ROUTER_DIR when set; else policies/shipped/by-model/<id>/
    when a router was shipped for that model; else policies/shipped/ (the default model's)."""
    env = settings().router_dir
    if env:
        return env
    if model_id:
        own = SHIPPED / BY_MODEL / model_dir_name(model_id)
        if (own / ROUTER_FILE).exists():
            return own
    return SHIPPED


def default_out(model_id: str | None) -> Path:
    """Where `tttc train-router --ship` puts a router trained on `model_id`'s outcomes: policies/shipped/,
    unless the router there belongs to another model, which is then kept, and this one goes to
    policies/shipped/by-model/<model id>/."""
    try:
        current = json.loads((SHIPPED / MANIFEST_FILE).read_text()).get("model_id")
    except (OSError, ValueError, AttributeError):
        current = None
    if model_id and current and current != model_id:
        return SHIPPED / BY_MODEL / model_dir_name(model_id)
    return SHIPPED


@dataclass(frozen=True)
class Bundle:
    """A fitted router (its `lam` is the calibrated one), the cost model it trades against, and the
    manifest: budget, cheap strategy, the features to compute, model id and the training report."""
    router: StrategyRouter
    cost_model: CostModel
    manifest: dict[str, Any]
    stage1: StrategyRouter | None = None   # with manifest["cascade"]: features, lam, threshold, rate

    @property
    def cascade(self) -> dict[str, Any] | None:
        return self.manifest.get("cascade") if self.stage1 is not None else None

    @property
    def stage1_features(self) -> list[str]:
        return [] if self.stage1 is None else [str(c) for c in self.stage1.feature_names_in_]

    @property
    def threshold(self) -> float:
        """The stage-1 margin below which a query escalates to the full router."""
        return float(self.cascade["threshold"]) if self.cascade else float("inf")

    @property
    def lam(self) -> float:
        return float(self.router.lam)

    @property
    def feature_names(self) -> list[str]:
        return [str(c) for c in self.router.feature_names_in_]

    @property
    def strategies(self) -> list[str]:
        return [str(s) for s in self.router.strategies_]

    @property
    def cheap(self) -> str:
        return str(self.manifest.get("cheap", self.strategies[0]))


def save_bundle(router: StrategyRouter, cost_model: CostModel, out: str | Path, stage1: StrategyRouter | None = None,
                cascade: dict[str, Any] | None = None, **manifest: Any) -> Path:
    """Write the files into `out` (created if needed); `manifest` adds fields (budget, report, ...).
    A cascade adds its stage-1 router file and `cascade` (features, lam, threshold, rate) to the manifest;
    without one, a stage-1 file left by an earlier cascade is removed."""
    if getattr(router, "feature_names_in_", None) is None:
        raise ValueError("a shipped router needs feature names (fit it with feature_names=...)")
    if (stage1 is None) != (cascade is None):
        raise ValueError("a cascade needs both its stage-1 router and its settings")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_router(router, out / ROUTER_FILE)
    if stage1 is not None:
        save_router(stage1, out / STAGE1_FILE)
        manifest["cascade"] = cascade
    elif (out / STAGE1_FILE).exists():
        (out / STAGE1_FILE).unlink()
    save_cost_model(cost_model, out / COST_FILE)
    doc = {"format": MANIFEST_FORMAT, "format_version": FORMAT_VERSION, "package_version": package_version(),
           "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "lam": float(router.lam),   # a copy for readers; router.json's params.lam is the one used
           "strategies": [str(s) for s in router.strategies_],
           "feature_names": [str(c) for c in router.feature_names_in_], **manifest}
    tmp = out / (MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False, default=str))
    os.replace(tmp, out / MANIFEST_FILE)
    return out


def load_bundle(directory: str | Path | None = None) -> Bundle | None:
    """The bundle in `directory` (default: bundle_dir()); None when it holds no router.json. A bundle
    with a missing, foreign or damaged file raises ModelFileError naming the file."""
    d = Path(directory) if directory is not None else bundle_dir()
    if not (d / ROUTER_FILE).exists():
        return None
    router = load_router(d / ROUTER_FILE)
    if getattr(router, "feature_names_in_", None) is None:
        raise ModelFileError(f"{d / ROUTER_FILE}: a shipped router needs feature names; this one has none")
    cost_model = load_cost_model(d / COST_FILE)
    path = d / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text())
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: not a {MANIFEST_FORMAT} file (not JSON: {e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelFileError(f"{path}: not a {MANIFEST_FORMAT} file")
    missing = [s for s in router.strategies_ if s not in cost_model.strategies]
    if missing:
        raise ModelFileError(f"{d / COST_FILE}: no cost data for the router's strategies {missing}")
    stage1 = None
    if manifest.get("cascade") is not None:
        stage1 = _load_stage1(d, router, manifest["cascade"])
    return Bundle(router, cost_model, manifest, stage1)


def _load_stage1(d: Path, router: StrategyRouter, cascade: Any) -> StrategyRouter:
    path = d / STAGE1_FILE
    if not path.exists():
        raise ModelFileError(f"{d / MANIFEST_FILE}: names a cascade but {path} is missing")
    try:
        threshold = float(cascade["threshold"])
    except (TypeError, KeyError, ValueError):
        raise ModelFileError(f"{d / MANIFEST_FILE}: cascade.threshold must be a number") from None
    if threshold != threshold:
        raise ModelFileError(f"{d / MANIFEST_FILE}: cascade.threshold is NaN")
    stage1 = load_router(path)
    if getattr(stage1, "feature_names_in_", None) is None:
        raise ModelFileError(f"{path}: a stage-1 router needs feature names; this one has none")
    if [str(s) for s in stage1.strategies_] != [str(s) for s in router.strategies_]:
        raise ModelFileError(f"{path}: its strategies {list(stage1.strategies_)} differ from "
                             f"{d / ROUTER_FILE}'s {list(router.strategies_)}")
    return stage1
