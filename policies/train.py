"""Train the router to ship: fit on logged outcomes, check it on unseen families, calibrate lam to a budget."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Collection, Iterable, Mapping, Sequence

import numpy as np

from .budget import Budget, calibrate_lambda, choose
from .cascade import PAYS, decide, escalation_features, escalation_gain, escalation_seconds, margins, \
    threshold_for_rate, threshold_that_pays
from .cost_model import CostModel
from .crossval import OutOfFold, feature_dicts, out_of_fold, task_groups
from .metrics import evaluate, summary
from .router import StrategyRouter, fit_router
from .table import Table, pivot


def parse_budget(text: str) -> Budget:
    """`share=0.3` (share of queries sent past the cheap strategy) or `seconds=20` (mean per query)."""
    key, sep, value = text.partition("=")
    if not sep or key.strip() not in ("share", "seconds"):
        raise ValueError(f"budget {text!r}: expected share=FRACTION or seconds=SECONDS")
    try:
        return Budget(**{key.strip(): float(value)})
    except ValueError as e:
        raise ValueError(f"budget {text!r}: {e}") from None


@dataclass
class Trained:
    router: StrategyRouter            # fitted on every training row, lam set to the calibrated value
    cost_model: CostModel
    budget: Budget
    cheap: str
    model_id: str
    report: dict[str, Any] = field(default_factory=dict)
    stage1: StrategyRouter | None = None   # a cascade's cheap-feature router (policies/cascade.py), if any
    cascade: dict[str, Any] | None = None  # its features, lam, margin threshold and escalation rate


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _point(decisions: Sequence[str], table: Table) -> dict[str, Any]:
    p = evaluate(decisions, table)
    return {"accuracy": p.accuracy, "seconds": p.seconds, "share": p.share}


def feature_set(rows: Sequence[Mapping[str, Any]], features: Sequence[str] | None) -> list[str]:
    """Router columns: the registered features' columns the log holds (only `features`, when given)."""
    from .features import feature_columns
    present = {c for r in rows for c in (r.get("features") or {})}
    cols = [c for c in feature_columns(features) if c in present]
    if not cols:
        raise ValueError("the log's rows hold none of the router's features; was it collected with featurize?")
    return cols


# Suites kept for reporting: a router never trains on them, even when a log mixes them with others.
REPORTING_ONLY = frozenset({"arc1-eval-small"})


def train_router(rows: Iterable[Mapping[str, Any]], budget: Budget, holdout_families: Sequence[str] = (),
                 folds: int = 5, features: Sequence[str] | None = None, model_id: str | None = None,
                 cheap: str = "icl", cascade_features: Sequence[str] | None = None,
                 escalate_rate: float | str = 0.1, feature_costs: Mapping[str, Mapping[str, float]] | None = None,
                 calibrate_on: Collection[str] | None = None, **router_params: Any) -> Trained:
    """Rows are outcome-log dicts; only those with a known outcome count. Families in
    `holdout_families` are kept out of training and reported apart. lam is calibrated on
    out-of-fold P(correct) (in-sample probabilities are overconfident, and a lam tuned on them
    would spend differently on new tasks); with a single family, on in-sample ones. Rows of a
    reporting-only suite (REPORTING_ONLY) are dropped and named in the report.

    With `cascade_features`, a stage-1 router on those (cheap) features is fitted too, and its margin
    threshold calibrated so that about `escalate_rate` of queries pay for the full router's features;
    with escalate_rate PAYS, to where escalating pays at the budget, the escalation features' seconds
    read from `feature_costs` (task hash -> feature -> recorded seconds, as
    `OutcomeLog.feature_costs.by_task`).

    `calibrate_on` (task hashes) names the queries the budget is for, where the training rows mix in
    others (e.g. a benchmark's tasks beside the router's own log): lam, and the cascade's stage-1 lam,
    are calibrated on those queries only, the router still fitted on every row."""
    rows = [r for r in rows if r.get("correct") is not None]
    reserved = sorted({str(r.get("suite")) for r in rows if r.get("suite") in REPORTING_ONLY})
    rows = [r for r in rows if r.get("suite") not in REPORTING_ONLY]
    models = sorted({r["model_id"] for r in rows})
    if model_id is None and len(models) > 1:
        raise ValueError(f"the log holds rows of several models {models}; choose one with --model-id")
    model_id = model_id or (models[0] if models else "")
    rows = [r for r in rows if r["model_id"] == model_id]
    held = set(holdout_families)
    train = [r for r in rows if r.get("family") not in held]
    test = [r for r in rows if r.get("family") in held]
    if not train:
        raise ValueError(f"no labelled rows to train on (model {model_id!r})")
    cols = feature_set(train, features)
    table = pivot(train, feature_names=cols, cheap=cheap)
    if len(table.strategies) < 2:
        raise ValueError(f"the log has outcomes of one strategy only ({table.strategies}); nothing to route between")
    router_params.setdefault("random_state", 0)
    router = fit_router(table, **router_params)
    cost_model = CostModel().fit(train)
    cheap_idx = table.strategies.index(table.cheap)
    groups = task_groups(train)
    complete = table.complete()
    report: dict[str, Any] = {
        "model_id": model_id, "rows": len(train), "tasks": table.n, "complete_tasks": complete.n,
        "families": len(set(groups.values())), "strategies": table.strategies, "features": cols,
        "always": {s: {"accuracy": _finite(float(np.nanmean(table.correct[:, j]))),
                       "seconds": _finite(float(np.nanmean(table.seconds[:, j])))}
                   for j, s in enumerate(table.strategies)},
        "cv": None, "holdout": None, "excluded_reporting_suites": reserved,
        "trained_on": sorted(table.keys)}   # task hashes: a report on these same tasks is in-sample

    fam = [groups[k] for k in complete.keys]
    if len(set(fam)) >= 2:
        P, C = out_of_fold(complete, fam, n_splits=folds, **router.get_params())
        lam = _calibrate(P, C, complete.keys, budget, cheap_idx, calibrate_on)
        oof = OutOfFold(P, table.strategies, lam)
        report["cv"] = {"folds": min(folds, len(set(fam))), "grouped_by": "family",
                        "at_budget": _point(oof.route(complete.queries(C)), complete)}
        try:
            s = summary(oof, complete, costs=C)
            report["cv"].update({k: _finite(s[k]) for k in ("apgr", "cpt50", "cpt80")},
                                weak=s["weak"], strong=s["strong"])
        except ValueError as e:   # APGR is undefined when the two routes are equally accurate
            report["cv"]["note"] = str(e)
    else:
        P = router.predict_proba(table.X)
        C = cost_model.predict_matrix(feature_dicts(table), table.strategies)
        lam = _calibrate(P, C, table.keys, budget, cheap_idx, calibrate_on)
        report["cv"] = {"note": "one family only: no grouped cross-validation; lam calibrated in-sample"}
    router.set_params(lam=lam)
    report["lam"] = lam
    stage1 = cascade = None
    if cascade_features is not None:
        stage1, cascade = _fit_cascade(table, complete, fam, cascade_features, escalate_rate, budget, folds,
                                       P, C, lam, report, router.get_params(), feature_costs or {}, calibrate_on)

    if test:
        ht = pivot(test, feature_names=cols, strategies=table.strategies, cheap=table.cheap).complete()
        if ht.n:
            C = cost_model.predict_matrix(feature_dicts(ht), ht.strategies)
            decisions = router.strategies_[choose(router.predict_proba(ht.X), C, lam)]
            report["holdout"] = {"families": sorted(held), "tasks": ht.n, "routed": _point(decisions, ht),
                                 "always": {s: _point([s] * ht.n, ht) for s in ht.strategies}}
    return Trained(router, cost_model, budget, table.cheap, model_id, report, stage1, cascade)


def _calibrate(P: np.ndarray, C: np.ndarray, keys: Sequence[str], budget: Budget, cheap: int,
               calibrate_on: Collection[str] | None) -> float:
    """lam for the budget, on the queries in `calibrate_on` where it is given (an error if none of them
    is among `keys`), else on all."""
    if calibrate_on is None:
        return calibrate_lambda(P, C, budget, cheap=cheap)
    mask = np.isin(np.asarray(keys), list(calibrate_on))
    if not mask.any():
        raise ValueError(f"calibrate_on: none of its {len(calibrate_on)} tasks is among the "
                         f"{len(keys)} complete training tasks")
    return calibrate_lambda(P[mask], C[mask], budget, cheap=cheap)


def _fit_cascade(table: Table, complete: Table, fam: list[str], features: Sequence[str], rate: float | str,
                 budget: Budget, folds: int, P: np.ndarray, C: np.ndarray, lam: float, report: dict[str, Any],
                 params: dict[str, Any], feature_costs: Mapping[str, Mapping[str, float]],
                 calibrate_on: Collection[str] | None = None) -> tuple[StrategyRouter, dict[str, Any]]:
    """The stage-1 router on `features` (a subset of the full router's), its own lam for the same
    budget, and the margin threshold that escalates `rate` of the queries (or, rate PAYS, the one that
    pays: see `_paying_threshold`); all calibrated out of fold when there are families to fold over (P, C:
    the full router's out-of-fold or in-sample ones)."""
    from dataclasses import replace

    from .features import feature_columns
    cols1 = [c for c in feature_columns(features) if c in table.feature_names]
    if not cols1:
        raise ValueError(f"cascade features {list(features)}: none of their columns is in the router's features")
    keep = [table.feature_names.index(c) for c in cols1]
    stage1 = fit_router(replace(table, feature_names=cols1, X=table.X[:, keep]), **params)
    cheap_idx = table.strategies.index(table.cheap)
    if report["cv"].get("at_budget") is not None:
        P1, _ = out_of_fold(complete, fam, n_splits=folds, columns=cols1, **params)
        target = complete
    else:
        P1, target = stage1.predict_proba(table.X[:, keep]), table
    lam1 = _calibrate(P1, C, target.keys, budget, cheap_idx, calibrate_on)
    stage1.set_params(lam=lam1)
    m = margins(P1, C, lam1)
    names = escalation_features(table.feature_names, cols1)
    f = escalation_seconds(target.keys, names, feature_costs, require=rate == PAYS)
    if rate == PAYS:
        threshold, paid = _paying_threshold(P1, P, C, lam1, lam, target, f, m)
    else:
        threshold, paid = threshold_for_rate(m, float(rate)), {}
    pick, esc = decide(P1, P, C, lam1, lam, threshold)
    spec: dict[str, Any] = {"features": cols1, "lam": lam1, "threshold": json_float(threshold), "rate": rate}
    if rate == PAYS:   # the rate it came to, beside the rule that chose it
        spec.update(rate=float(esc.mean()), escalate=PAYS, escalation_features=names)
    at = _point(list(np.asarray(table.strategies)[pick]), target) if target.complete().n == target.n else None
    report["cascade"] = {**spec, "escalated": float(esc.mean()), "at_budget": at,
                         "featurizing_s": float(np.mean(esc * f)) if len(f) else 0.0, **paid}
    return stage1, spec


def _paying_threshold(P1: np.ndarray, P: np.ndarray, C: np.ndarray, lam1: float, lam: float, target: Table,
                      f: np.ndarray, m: np.ndarray) -> tuple[float, dict[str, Any]]:
    """The threshold that maximises realised utility on the logged outcomes (policies/cascade.py
    `threshold_that_pays`; f: each query's escalation feature seconds), what escalating all, or the chosen
    queries, gains over escalating none (per query, in accuracy units), and the mean escalation seconds."""
    gain = escalation_gain(P1, P, C, lam1, lam, target.correct, target.seconds, f)
    threshold = threshold_that_pays(m, gain)
    esc = m < threshold
    n = max(len(gain), 1)
    return threshold, {"gain": {"all": float(gain.sum() / n), "chosen": float(gain[esc].sum() / n)},
                       "escalation_s": float(f.mean()) if len(f) else 0.0}


def json_float(x: float) -> float | str:
    """A float for a strict-JSON file: infinities as "inf"/"-inf" (float() reads them back)."""
    return float(x) if math.isfinite(x) else ("inf" if x > 0 else "-inf")
