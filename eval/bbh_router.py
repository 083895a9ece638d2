"""The router on BIG-Bench Hard, judged by task: leave one BBH task out, train on everything else (the
router's own outcome log plus the other BBH tasks), route the held-out task; repeat for every task.

Each router variant is trained with the shipped recipe (policies/train.py: logistic regression per
strategy, C=0.1, lam calibrated out of fold to a 5 s budget) on its own feature set, so the variants
measure what each feature set adds against what it costs to compute:
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
BUDGET_SECONDS = 5.0


@dataclass
class Routed:
    """One variant's decision for one held-out task: the strategy, and the seconds per query it spent
    deciding (features the decision read)."""
    strategy: str
    decide_s: float
    escalated: bool = False
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
           feature_costs: Mapping[str, Mapping[str, float]]) -> Any:
    """The shipped recipe on `rows`; a cascade escalates where that pays at the budget, the probe's
    recorded seconds counted (policies/cascade.py, PAYS)."""
    from policies.budget import Budget
    from policies.cascade import PAYS
    from policies.train import train_router
    return train_router(rows, Budget(seconds=BUDGET_SECONDS), features=list(features), cheap="icl",
                        cascade_features=list(FREE) if cascade else None, escalate_rate=PAYS,
                        feature_costs=feature_costs if cascade else None, **RECIPE)


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
                       variants: Sequence[str] = tuple(VARIANTS), say=lambda text: None) -> dict[str, dict[str, Routed]]:
    """variant -> task -> Routed. Rows are outcome-log dicts (one model); BBH rows carry `family` = task."""
    keep = set(strategies)
    base = [r for r in base_rows if r["strategy"] in keep]
    bbh = [r for r in bbh_rows if r["strategy"] in keep]
    tasks = sorted({r["family"] for r in bbh})
    variants = available(bbh, variants)
    out: dict[str, dict[str, Routed]] = {v: {} for v in variants}
    for k, task in enumerate(tasks, 1):
        held = [r for r in bbh if r["family"] == task]
        train = base + [r for r in bbh if r["family"] != task]
        one = list({r["task_hash"]: r for r in held}.values())   # one row per query
        for v in variants:
            cascade = v == "cascade"
            trained = _train(train, VARIANTS[v], cascade, feature_costs)
            strategy, escalated, P, C = _route_one(trained, one, cascade, strategies)
            read = VARIANTS[v] if (not cascade or escalated) else FREE
            out[v][task] = Routed(strategy, decide_seconds(one, feature_costs, read), escalated, P, C)
        say(f"[{k}/{len(tasks)}] {task}: " + ", ".join(f"{v} -> {out[v][task].strategy}" for v in variants))
    return out

