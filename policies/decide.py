"""Pick a strategy for a task: the shipped learned router when present, else a documented default rule."""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from strategies.runtime.protocol import ModelRuntime
from strategies.task import Task

from .budget import choose
from .cascade import margins
from .bundle import COST_FILE, MANIFEST_FILE, ROUTER_FILE, STAGE1_FILE, Bundle, bundle_dir, load_bundle

_CACHE: dict[tuple, Bundle | None] = {}
_LOCK = threading.Lock()


def default_rule(task: Task) -> tuple[str, str]:
    """Before any router is trained: grids go to TTT (ICL scores ~0 on them with a small model); text to ICL."""
    if task.kind == "grid":
        return "ttt", "default rule: grid task, small models need test-time training on grids"
    return "icl", "default rule: text task, in-context learning first"


def shipped(directory: str | Path | None = None, model_id: str | None = None) -> Bundle | None:
    """The router bundle in `directory` (default: the one for `model_id`, see bundle_dir), loaded once
    and reloaded when one of its files changes; None when there is none."""
    d = Path(directory) if directory is not None else bundle_dir(model_id)
    stamp = tuple((d / f).stat().st_mtime_ns if (d / f).exists() else None
                  for f in (ROUTER_FILE, COST_FILE, MANIFEST_FILE, STAGE1_FILE))
    key = (str(d.resolve()), stamp)
    with _LOCK:
        if key not in _CACHE:
            for stale in [k for k in _CACHE if k[0] == key[0]]:   # an older version is never needed again
                del _CACHE[stale]
            _CACHE[key] = load_bundle(d)
        return _CACHE[key]


def _specs(columns: list[str] | set[str], with_model: bool = True) -> list[str]:
    """Registered feature names that return any of these columns (only model-free ones if not with_model)."""
    from .features import FEATURES
    cols = set(columns)
    return [s.name for s in FEATURES.values() if cols & set(s.keys) and (with_model or s.needs == "none")]


def router_features(directory: str | Path | None = None, model_id: str | None = None) -> list[str]:
    """Feature names every stage of the shipped router and its cost model may read (a cascade's
    escalation included): what a log needs so that this router's recipe can be retrained on it."""
    bundle = shipped(directory, model_id)
    if bundle is None:
        return []
    return _specs(list(bundle.feature_names) + list(bundle.cost_model.regressors))


def needed_features(directory: str | Path | None = None, model_id: str | None = None) -> list[str]:
    """Feature names the shipped router and its cost model read before deciding, so that a caller
    computes just those: a cascade's stage-1 features (route() computes the rest for the queries
    that escalate); none without a shipped router (the default rule reads no feature)."""
    bundle = shipped(directory, model_id)
    if bundle is None:
        return []
    first = bundle.stage1_features if bundle.cascade else bundle.feature_names
    return _specs(first + list(bundle.cost_model.regressors))


@dataclass
class Decision:
    strategy: str
    reason: str
    values: dict[str, float]    # every feature value the decision read, given or computed here
    computed: Any = None        # the Features computed here (costs, ICL probe), None when none were
    escalated: bool = False     # a cascade's stage 1 was unsure and the full router decided


def _values(task: Task, runtime: ModelRuntime, given: dict[str, float], columns: list[str]) -> tuple[dict[str, float], Any]:
    """`given` plus whichever of `columns` it lacks and can be computed here (model features need a
    runtime), and the Features computed (None if none); what cannot be computed stays missing and
    the router imputes it."""
    from .features import featurize
    specs = _specs({c for c in columns if c not in given}, with_model=runtime is not None)
    if not specs:
        return given, None
    computed = featurize(task, runtime, names=specs)
    return {**given, **computed.values}, computed


def _merge(a: Any, b: Any) -> Any:
    """Features computed in two rounds, as one (values, costs; the ICL probe of whichever ran it)."""
    if a is None or b is None:
        return a if b is None else b
    from dataclasses import replace
    probe = b if b.icl_answer is not None else a
    return replace(a, values={**a.values, **b.values}, costs={**a.costs, **b.costs}, icl_answer=probe.icl_answer,
                   icl_prompts=probe.icl_prompts, icl_cost=probe.icl_cost)


def _secs(s: float) -> str:
    return f"{s:.1f}" if s < 10 else f"{s:.0f}"


def route(task: Task, runtime: ModelRuntime, features: Any = None, directory: str | Path | None = None) -> tuple[str, str]:
    """Return (strategy name, one-line reason); see decide()."""
    d = decide(task, runtime, features, directory)
    return d.strategy, d.reason


def decide(task: Task, runtime: ModelRuntime, features: Any = None, directory: str | Path | None = None) -> Decision:
    """With a shipped router: the strategy of highest P(correct) - lam*predicted seconds among those
    registered here; `features` (a Features or a dict of values) are reused and only the missing ones
    computed. A cascade decides on its stage-1 features when its margin is clear, and computes the
    full router's features only otherwise."""
    given = {} if features is None else dict(features) if isinstance(features, Mapping) else dict(features.values)
    bundle = shipped(directory, getattr(runtime, "model_id", None))
    if bundle is None:
        return Decision(*default_rule(task), values=given)
    from strategies.registry import registry

    regressors = list(bundle.cost_model.regressors)
    strategies = bundle.strategies
    usable = np.array([s in registry().names() for s in strategies])
    if not usable.any():
        name, why = default_rule(task)
        return Decision(name, f"{why} (the shipped router's strategies {strategies} are not in the library)", given)
    computed = None
    if bundle.cascade:
        values, computed, C, P1, margin = _stage1(task, runtime, given, bundle, usable)
        lam1 = float(bundle.cascade["lam"])
        if margin >= bundle.threshold:
            return Decision(*_explain(strategies, P1, C, lam1, usable, bundle, runtime,
                                      note=f"; clear on cheap features (margin {margin:.2f})"), values, computed)
        given = values
    values, more = _values(task, runtime, given, bundle.feature_names + regressors)
    computed = _merge(computed, more)
    C = np.array([bundle.cost_model.predict(values, s) for s in strategies])
    P = _p_usable(bundle.router, bundle.feature_names, values, usable)
    note = ""
    if bundle.cascade:
        note = "; cheap features unsure, so the full router decided"
        if more is not None:
            note += f" (computed {', '.join(sorted(more.costs))})"
    return Decision(*_explain(strategies, P, C, bundle.lam, usable, bundle, runtime, note=note), values, computed,
                    escalated=bool(bundle.cascade))


@dataclass
class FirstLook:
    """A cascade's stage-1 view of a task, model-free features only: what it would pick, its margin, and
    whether that margin is below the threshold (the query would escalate to the full router)."""
    strategy: str
    margin: float
    escalates: bool
    P: dict[str, float]     # stage 1's P(correct) per strategy
    C: dict[str, float]     # predicted seconds per strategy


def first_look(task: Task, runtime: ModelRuntime, directory: str | Path | None = None) -> FirstLook | None:
    """Stage 1 of the shipped cascade on `task`, never computing a model feature (the tokenizer only, for
    token counts): for scanning many tasks cheaply. None without a shipped cascade."""
    bundle = shipped(directory, getattr(runtime, "model_id", None))
    if bundle is None or not bundle.cascade:
        return None
    from strategies.registry import registry
    strategies = bundle.strategies
    usable = np.array([s in registry().names() for s in strategies])
    _, _, C, P1, margin = _stage1(task, runtime, {}, bundle, usable)
    pick = strategies[int(choose(P1[None], C[None], float(bundle.cascade["lam"]))[0])]
    return FirstLook(pick, margin, margin < bundle.threshold, dict(zip(strategies, P1.tolist())),
                     dict(zip(strategies, C.tolist())))


def _stage1(task: Task, runtime: ModelRuntime, given: dict[str, float], bundle: Bundle,
            usable: np.ndarray) -> tuple[dict[str, float], Any, np.ndarray, np.ndarray, float]:
    """A cascade's stage 1: the feature values (given, plus the stage-1 and cost-model ones computed
    here), the Features computed, predicted seconds, stage-1 P(correct) and the utility margin."""
    values, computed = _values(task, runtime, given, bundle.stage1_features + list(bundle.cost_model.regressors))
    C = np.array([bundle.cost_model.predict(values, s) for s in bundle.strategies])
    P1 = _p_usable(bundle.stage1, bundle.stage1_features, values, usable)
    margin = float(margins(P1[None], C[None], float(bundle.cascade["lam"]))[0])
    return values, computed, C, P1, margin


def _p_usable(router: Any, names: list[str], values: dict[str, float], usable: np.ndarray) -> np.ndarray:
    """P(correct) per strategy; -inf for one this process cannot run, so that it is never chosen."""
    x = np.array([[values.get(c, math.nan) for c in names]], dtype=float)
    return np.where(usable, router.predict_proba(x)[0], -np.inf)


def _explain(strategies: list[str], P: np.ndarray, C: np.ndarray, lam: float, usable: np.ndarray, bundle: Bundle,
             runtime: ModelRuntime, note: str = "") -> tuple[str, str]:
    best = int(choose(P[None], C[None], lam)[0])
    U = P - lam * C
    order = [j for j in np.argsort(-U, kind="stable") if j != best and usable[j]]
    alt = f" vs {strategies[order[0]]} {P[order[0]]:.2f}" if order else ""
    trained_on = bundle.manifest.get("model_id")
    other = getattr(runtime, "model_id", None)
    caveat = f" (router trained on {trained_on} outcomes)" if trained_on and other and other != trained_on else ""
    return strategies[best], f"{strategies[best]}: P(correct) {P[best]:.2f}{alt}, ~{_secs(C[best])} s{note}{caveat}"
