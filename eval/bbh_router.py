"""The router on BIG-Bench Hard, judged by task: leave one BBH task out, train on everything else (the
router's own outcome log plus the other BBH tasks), route the held-out task; repeat for every task.

Each router variant is trained with the shipped recipe (policies/train.py: logistic regression per
strategy, C=0.1, lam calibrated out of fold to the budget) on its own feature set, so the variants
measure what each feature set adds against what it costs to compute. The budget is per BBH query, its
lam calibrated on the training BBH tasks only (the router's own log is far cheaper per query): by default
half of always-TTT's seconds per query on the training tasks (`ttt=0.5`, the target's own limit), or a
fixed `seconds=S`.
- `free`: the model-free features (milliseconds to decide);
- `probe`: those plus the learnability probe (two throwaway LoRA steps: seconds);
- `cascade`: the shipped shape, `free` first and the probe only where escalating pays at the budget
  (the probe's recorded seconds counted);
- `ppl`: the demonstrations' perplexity alone (the perplexity-only rule).
A held-out task's queries share its demonstrations, so one decision routes them all; its deciding
seconds (the features it read, recorded once per task) are shared by its queries and counted in its
seconds per query.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

FREE = ("counts", "is_grid", "grid_side", "sizes", "shape_consistency", "prompt_chars", "prompt_tokens")
VARIANTS: dict[str, tuple[str, ...]] = {"free": FREE, "probe": FREE + ("ttt_probe",),
                                        "cascade": FREE + ("ttt_probe",), "ppl": ("demo_ppl",)}
RECIPE = {"estimator": "logreg", "C": 0.1}
BUDGET = "ttt=0.5"


def parse_budget(text: str) -> tuple[str, float]:
    """`ttt=SHARE` (that share of always-TTT's seconds per query on the training tasks) or `seconds=S`."""
    kind, _, value = text.partition("=")
    try:
        v = float(value)
    except ValueError:
        v = float("nan")
    if kind not in ("ttt", "seconds") or not v > 0:
        raise ValueError(f"budget {text!r}: expected ttt=SHARE (of always-TTT's seconds per query on the "
                         f"training tasks) or seconds=SECONDS, a positive number")
    return kind, v


def fold_budget(spec: tuple[str, float], train_rows: Sequence[Mapping[str, Any]]) -> float:
    """The budget's seconds per query for one fold: fixed, or the share of always-TTT's macro seconds per
    query over the fold's training BBH tasks."""
    kind, v = spec
    if kind == "seconds":
        return v
    per_task: dict[str, list[float]] = {}
    for r in train_rows:
        if r["strategy"] == "ttt":
            per_task.setdefault(r["family"], []).append(float(r["wall_s"]))
    if not per_task:
        raise ValueError(f"budget ttt={v}: the training BBH tasks have no ttt rows")
    return v * float(np.mean([np.mean(s) for s in per_task.values()]))


@dataclass
class Routed:
    """One variant's decision for one held-out task: the strategy, and the seconds per query it spent
    deciding (features the decision read)."""
    strategy: str
    decide_s: float
    escalated: bool = False
    budget_s: float | None = None      # the fold's budget, seconds per query
    P: list[float] | None = None       # P(correct) per strategy (the full router's), in `strategies` order
    C: list[float] | None = None       # predicted seconds per strategy


def available(rows: Sequence[Mapping[str, Any]], variants: Sequence[str]) -> list[str]:
    """The variants whose features the rows hold (some column of each of them)."""
    from policies.features import feature_columns
    present = {c for r in rows for c in (r.get("features") or {})}
    return [v for v in variants if all(set(feature_columns([f])) & present for f in VARIANTS[v])]


def decide_seconds(task_rows: Sequence[Mapping[str, Any]], feature_costs: Mapping[str, Mapping[str, float]],
                   features: Sequence[str]) -> float:
    """Seconds per query that computing `features` cost for this task: the recorded cost of each
    (summed over the task's query rows, where it was shared out) over the task's number of queries."""
    hashes = {r["task_hash"] for r in task_rows}
    total = sum(feature_costs.get(h, {}).get(f, 0.0) for h in hashes for f in features)
    return total / max(1, len(hashes))


def _train(rows: Sequence[Mapping[str, Any]], features: Sequence[str], cascade: bool,
           feature_costs: Mapping[str, Mapping[str, float]], budget_s: float, calibrate_on: set[str]) -> Any:
    """The shipped recipe on `rows`, lam calibrated to `budget_s` on the `calibrate_on` tasks; a cascade
    escalates where that pays at the budget, the probe's recorded seconds counted (policies/cascade.py,
    PAYS)."""
    from policies.budget import Budget
    from policies.cascade import PAYS
    from policies.train import train_router
    return train_router(rows, Budget(seconds=budget_s), features=list(features), cheap="icl",
                        cascade_features=list(FREE) if cascade else None, escalate_rate=PAYS,
                        feature_costs=feature_costs if cascade else None, calibrate_on=calibrate_on, **RECIPE)


def _route_one(trained: Any, task_rows: Sequence[Mapping[str, Any]], cascade: bool,
               strategies: Sequence[str]) -> tuple[str, bool, list[float], list[float]]:
    """The trained router's decision for a task (its rows share their features): the majority choice
    over its rows, which agree unless per-query features differ."""
    from policies.budget import choose
    from policies.cascade import decide
    from policies.table import to_matrix

    router = trained.router
    names = list(router.feature_names_in_)
    feats = [r.get("features") or {} for r in task_rows]
    X = to_matrix(feats, names)
    C = trained.cost_model.predict_matrix(feats, list(router.strategies_))
    P = router.predict_proba(X)
    if cascade and trained.stage1 is not None:
        X1 = to_matrix(feats, list(trained.stage1.feature_names_in_))
        pick, esc = decide(trained.stage1.predict_proba(X1), P, C, float(trained.cascade["lam"]), router.lam,
                           float(trained.cascade["threshold"]))
    else:
        pick, esc = choose(P, C, router.lam), np.zeros(len(task_rows), dtype=bool)
    chosen = router.strategies_[pick]
    values, counts = np.unique(chosen, return_counts=True)
    order = [list(router.strategies_).index(s) for s in strategies]
    return (str(values[np.argmax(counts)]), bool(esc.mean() >= 0.5),
            P[:, order].mean(0).tolist(), C[:, order].mean(0).tolist())


def leave_one_task_out(bbh_rows: Sequence[Mapping[str, Any]], base_rows: Sequence[Mapping[str, Any]],
                       feature_costs: Mapping[str, Mapping[str, float]], strategies: Sequence[str],
                       variants: Sequence[str] = tuple(VARIANTS), budget: str = BUDGET,
                       say=lambda text: None) -> dict[str, dict[str, Routed]]:
    """variant -> task -> Routed. Rows are outcome-log dicts (one model); BBH rows carry `family` = task.
    `budget`: see parse_budget."""
    spec = parse_budget(budget)
    keep = set(strategies)
    base = [r for r in base_rows if r["strategy"] in keep]
    bbh = [r for r in bbh_rows if r["strategy"] in keep]
    tasks = sorted({r["family"] for r in bbh})
    variants = available(bbh, variants)
    out: dict[str, dict[str, Routed]] = {v: {} for v in variants}
    for k, task in enumerate(tasks, 1):
        held = [r for r in bbh if r["family"] == task]
        others = [r for r in bbh if r["family"] != task]
        train = base + others
        budget_s = fold_budget(spec, others)
        calibrate_on = {r["task_hash"] for r in others}
        one = list({r["task_hash"]: r for r in held}.values())   # one row per query
        for v in variants:
            cascade = v == "cascade"
            trained = _train(train, VARIANTS[v], cascade, feature_costs, budget_s, calibrate_on)
            strategy, escalated, P, C = _route_one(trained, one, cascade, strategies)
            read = VARIANTS[v] if (not cascade or escalated) else FREE
            out[v][task] = Routed(strategy, decide_seconds(one, feature_costs, read), escalated, budget_s, P, C)
        say(f"[{k}/{len(tasks)}] {task}: " + ", ".join(f"{v} -> {out[v][task].strategy}" for v in variants))
    return out



def prior(bbh_rows: Sequence[Mapping[str, Any]], strategies: Sequence[str],
          like: Mapping[str, Routed]) -> dict[str, Routed]:
    """The feature-blind reference for APGR: for each held-out task, P(correct) of each strategy is its
    accuracy on the other tasks, the seconds those `like` predicted; nothing to decide. A router whose
    features tell tasks apart beats it; one that only knows which strategies do well on average and what
    they cost does not."""
    out = {}
    for task, r in like.items():
        others = [x for x in bbh_rows if x["family"] != task]
        P = [float(np.mean([bool(x["correct"]) for x in others if x["strategy"] == s] or [0.0])) for s in strategies]
        out[task] = Routed("", 0.0, P=P, C=r.C)
    return out
