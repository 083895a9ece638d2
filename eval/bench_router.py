"""Router benchmark on the outcome log: leave-families-out curves, baselines, APGR/CPT, targets, feature ablation.

  .venv/bin/python -m eval.bench_router --db sqlite:///tttc.db --out runs/router-bench.json --md

Every query is scored by a router and a cost model fitted on other families only (GroupKFold by
family). Budgets sweep the share of queries sent past ICL; each router reports accuracy and mean
wall seconds per point (real seconds of the strategy it picked). APGR and CPT are measured between
always-ICL and the best always-TTT strategy. Targets: routed accuracy >= 95% of the best TTT at
<= 35% of its wall time; APGR >= 0.8; at or above both single-feature routers at every budget strictly
between all-ICL and all-TTT. The ablation drops one feature group at a time and reports the APGR
change beside the group's mean cost per query (from `tttc collect`'s feature-cost table).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SHARES = [round(x, 2) for x in np.linspace(0, 1, 11)]
TARGET_ACC, TARGET_TIME, TARGET_APGR = 0.95, 0.35, 0.8
THRESHOLDS = {"ppl-threshold": ("demo_ppl", "high"), "consistency-threshold": ("self_consistency", "low")}


def _f(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def is_ttt(name: str) -> bool:
    """A strategy that trains at test time: its registered kind, or its name when it is not registered."""
    from eval.executors import TRAINING_KINDS
    from strategies.registry import StrategyError, registry
    try:
        return registry().get(name).kind in TRAINING_KINDS
    except StrategyError:
        return name.startswith(TRAINING_KINDS)


def points_json(points) -> list[dict[str, Any]]:
    return [{"budget": p.budget, "share": p.share, "accuracy": p.accuracy, "seconds": p.seconds} for p in points]


def cost_axis(points, weak_s: float, strong_s: float) -> list:
    """Points re-expressed with x = (mean seconds - always-weak's) / (always-strong's - always-weak's),
    clipped to [0, 1]: APGR over cost. With two routes of fixed cost this is the share of expensive calls."""
    from dataclasses import replace
    span = strong_s - weak_s
    return [replace(p, share=float(np.clip((p.seconds - weak_s) / span, 0, 1)) if span > 0 else p.share)
            for p in points]


def featurized(points, base: float, router: Any = None, kind: str = "seconds") -> list:
    """Points with featurizing seconds per query added, what the user waits and pays for: `base` (what
    every query computes), plus for a cascade what its escalations cost at each point's budget (its
    `spent`, keyed by the Budget of `kind` the curve was swept over)."""
    from dataclasses import replace
    return [replace(p, seconds=p.seconds + base + escalation_at(router, p.budget, kind)) for p in points]


def escalation_at(router: Any, budget: float | None, kind: str = "seconds") -> float:
    """Mean escalation feature seconds per query a cascade spent when routed at this budget (0 for any other router)."""
    from policies.budget import Budget
    spent = getattr(router, "spent", None)
    if not spent or budget is None:
        return 0.0
    return spent.get(Budget(**{kind: budget}), (0.0, 0.0))[1]


def featurizing_seconds(cols: list[str], feature_costs: dict[str, dict], stage1: list[str] | None = None
                        ) -> dict[str, float]:
    """Mean seconds per query each router spends on features before any strategy runs (0 where the
    log has no feature costs): the learned router computes every feature it reads, a threshold one;
    a cascade its `stage1` features always (what its escalations add depends on the budget: its `spent`)."""
    from policies.features import FEATURES

    def cost(names) -> float:
        return sum(feature_costs[n]["wall_s"] for n in names if n in feature_costs)

    def used(columns) -> list[str]:
        return [s.name for s in FEATURES.values() if set(s.keys) & set(columns)]
    out = {"router": cost(used(cols)), "ppl-threshold": cost(["demo_ppl"]),
           "consistency-threshold": cost(["self_consistency"])}
    if stage1 is not None:
        out["cascade"] = cost(used(stage1))
    return out


def gap_metrics(points, weak: float, strong: float) -> dict[str, float | None]:
    from policies.metrics import apgr, cpt
    if weak == strong:
        return {"apgr": None, "cpt50": None, "cpt80": None}
    return {"apgr": apgr(points, weak, strong), "cpt50": _f(cpt(points, weak, strong, 0.5)),
            "cpt80": _f(cpt(points, weak, strong, 0.8))}


@dataclass
class Baselines:
    """What every router on a table is measured against: per-strategy accuracy and mean seconds, the
    strong end of APGR (the most accurate TTT strategy), the mean-seconds budgets swept from always-cheap
    to always-strong, and the reference routers (random and oracle; the single-feature thresholds whose
    feature the log holds, with a note for each one it does not)."""
    acc: dict[str, float]
    secs: dict[str, float]
    strong: str
    budgets: list[float]
    reference: dict[str, Any]
    thresholds: dict[str, Any]
    notes: list[str]


def baselines(table, logged: list[str]) -> Baselines:
    from policies.baselines import Oracle, Random, Threshold
    acc = {s: float(table.correct[:, j].mean()) for j, s in enumerate(table.strategies)}
    secs = {s: float(table.seconds[:, j].mean()) for j, s in enumerate(table.strategies)}
    expensive = [s for s in table.strategies if s != table.cheap]
    ttt = [s for s in expensive if is_ttt(s)] or expensive
    strong = max(ttt, key=lambda s: (acc[s], -secs[s]))
    thresholds, notes = {}, []
    for name, (feature, direction) in THRESHOLDS.items():
        if feature in logged:
            thresholds[name] = Threshold(feature, direction, expensive=strong)
        else:
            notes.append(f"{name}: feature {feature} is not in the log")
    # budgets in mean seconds, from always-ICL's to always-strong's: with several expensive strategies
    # a share of "expensive calls" lumps a 4 s vote with a 30 s training run, seconds do not
    lo, hi = secs[table.cheap], secs[strong]
    return Baselines(acc, secs, strong, [lo + f * (hi - lo) for f in SHARES],
                     {"random": Random(expensive=[strong], seed=0), "oracle": Oracle.of(table)}, thresholds, notes)


def benchmark(rows: list[dict], folds: int = 5, cheap: str = "icl", estimator: str = "logreg",
              feature_costs: dict[str, dict] | None = None, ablate: bool = True,
              features: list[str] | None = None, cascade: list[str] | None = None,
              escalate: float | str = 0.1, logreg_C: float = 1.0,
              task_costs: dict[str, dict[str, float]] | None = None, at: Any = None) -> dict[str, Any]:
    """With `cascade` (feature names), the router under test is a two-stage cascade
    (policies/cascade.py) whose stage 1 reads those features and escalates `escalate` of the queries,
    or (PAYS) where that pays, the threshold for each fold chosen on the others; the targets are then
    checked on it (the full router's rows stay for comparison). `feature_costs` are the log's mean
    seconds per feature, `task_costs` each task's (what an escalation pays); `at` (a Budget) adds the
    router's and the cascade's point at that budget, featurizing counted."""
    from policies.budget import Budget
    from policies.crossval import OutOfFold, out_of_fold, task_groups
    from policies.metrics import curve, evaluate
    from policies.table import pivot
    from policies.train import feature_set

    logged = feature_set(rows, None)     # every feature column the log holds: the threshold baselines read them
    cols = feature_set(rows, features)   # the router's columns (registered feature names; None: all logged)
    table = pivot(rows, feature_names=logged, cheap=cheap).complete()
    if table.n == 0:
        raise ValueError("no task has an outcome for every strategy; collect more (or fewer strategies)")
    groups = task_groups(rows)
    fam = [groups[k] for k in table.keys]
    params = {"estimator": estimator, "C": logreg_C, "random_state": 0}
    P, C = out_of_fold(table, fam, n_splits=folds, columns=cols, **params)

    base = baselines(table, logged)
    acc, secs, strong, budgets = base.acc, base.secs, base.strong, base.budgets
    weak_acc, strong_acc = acc[table.cheap], acc[strong]

    routers: dict[str, Any] = {"router": OutOfFold(P, table.strategies), **base.reference}
    cols1 = names = None
    if cascade is not None:
        from policies.cascade import PAYS, CascadeOOF, escalation_features, escalation_seconds
        from policies.crossval import fold_ids
        cols1 = [c for c in feature_set(rows, cascade) if c in cols]
        P1, _ = out_of_fold(table, fam, n_splits=folds, columns=cols1, **params)
        names = escalation_features(cols, cols1)
        means = {n: c["wall_s"] for n, c in (feature_costs or {}).items()}
        f = escalation_seconds(table.keys, names, task_costs or {}, means, require=escalate == PAYS)
        routers["cascade"] = CascadeOOF(P1, P, table.strategies, escalate, f, table.correct, table.seconds,
                                        fold_ids(fam, folds))
    primary = "cascade" if cascade is not None else "router"
    notes = base.notes
    routers.update(base.thresholds)
    lo, hi = secs[table.cheap], secs[strong]
    curves = {name: curve(r, table, seconds=budgets, costs=C) for name, r in routers.items()}
    by_share = {name: curve(r, table, shares=SHARES, costs=C) for name, r in routers.items()}
    overhead = featurizing_seconds(cols, feature_costs or {}, cols1)
    totals = {name: featurized(curves[name], overhead.get(name, 0.0), routers[name]) for name in routers}
    summary = {name: {"cost_axis": gap_metrics(cost_axis(curves[name], lo, hi), weak_acc, strong_acc),
                      "total_cost_axis": gap_metrics(cost_axis(totals[name], lo, hi), weak_acc, strong_acc),
                      "share_axis": gap_metrics(by_share[name], weak_acc, strong_acc)} for name in routers}
    q = table.queries(C)
    always = {s: {"accuracy": acc[s], "seconds": secs[s]} for s in table.strategies}

    # target 1: a point at no more than 35% of the strong strategy's seconds, featurizing included,
    # within 95% of its accuracy
    limit, r = TARGET_TIME * secs[strong], routers[primary]
    spend = limit - overhead[primary]
    for _ in range(2):   # a cascade's escalations cost seconds too: route once more at the budget they leave
        at_limit = evaluate(r.route(q, Budget(seconds=max(spend, 0.0))), table, max(spend, 0.0))
        if not escalation_at(r, at_limit.budget):
            break
        spend = limit - overhead[primary] - escalation_at(r, at_limit.budget)
    points = curves[primary] + by_share[primary] + [at_limit]
    with_f = (totals[primary] + featurized(by_share[primary], overhead[primary], r, "share")
              + featurized([at_limit], overhead[primary], r))
    cheap_enough = [(p, t) for p, t in zip(points, with_f) if t.seconds <= limit + 1e-9]
    best, best_f = max(cheap_enough, key=lambda pt: pt[0].accuracy, default=(None, None))
    t1 = best is not None and best.accuracy >= TARGET_ACC * strong_acc
    # target 3: at or above each single-feature router at every budget strictly between the ends
    by_budget = {name: {p.budget: p for p in pts} for name, pts in curves.items()}
    inner = budgets[1:-1]
    margins = {name: [by_budget[primary][b].accuracy - by_budget[name][b].accuracy for b in inner]
               for name in THRESHOLDS if name in curves}
    t3 = bool(margins) and all(m >= 0 for ms in margins.values() for m in ms)
    apgr_r = summary[primary]["cost_axis"]["apgr"]
    targets = {
        "accuracy_at_time": {"pass": t1, "limit_seconds": limit, "need_accuracy": TARGET_ACC * strong_acc,
                             "featurizing_s": overhead[primary] if best is None else best_f.seconds - best.seconds,
                             "router": primary,
                             "best": None if best is None else points_json([best])[0]},
        "apgr": {"pass": apgr_r is not None and apgr_r >= TARGET_APGR, "value": apgr_r, "need": TARGET_APGR,
                 "axis": "cost"},
        "above_single_feature": {"pass": t3, "min_margin": {k: min(v) if v else None for k, v in margins.items()},
                                 "note": "; ".join(notes) or None},
    }

    ablation = []
    if ablate:
        base = Ablation(table, fam, C, budgets, folds, params, weak_acc, strong_acc)
        ablation = base.run(cols, summary["router"]["cost_axis"]["apgr"], feature_costs or {})

    return {"tasks": table.n, "families": len(set(fam)), "folds": min(folds, len(set(fam))), "featurizing_s": overhead,
            "strategies": table.strategies, "features": cols, "weak": table.cheap, "strong": strong,
            "always": always, "budgets_s": budgets, "curves": {k: points_json(v) for k, v in curves.items()},
            "curves_by_share": {k: points_json(v) for k, v in by_share.items()},
            "summary": summary, "targets": targets, "ablation": ablation,
            "cascade": None if cols1 is None else {"features": cols1, "escalate": escalate},
            "escalation": None if cols1 is None else escalation(routers["cascade"], names, budgets,
                                                                overhead["cascade"]),
            "at_budget": None if at is None else at_budget(routers, q, table, at, overhead)}


def escalation(router: Any, names: list[str], budgets: list[float], stage1_s: float) -> dict[str, Any]:
    """A cascade's escalations along the seconds curve: share of queries escalated and featurizing seconds
    per query (stage 1's and the escalation features'), per budget."""
    from policies.budget import Budget
    spent = [router.spent.get(Budget(seconds=b), (0.0, 0.0)) for b in budgets]
    return {"features": names, "per_budget": [{"budget": b, "escalated": e, "featurizing_s": stage1_s + f}
                                              for b, (e, f) in zip(budgets, spent)]}


def at_budget(routers: dict[str, Any], q: Any, table: Any, budget: Any, overhead: dict[str, float]) -> dict[str, Any]:
    """The learned routers' points at one budget (the one a router ships with): accuracy, strategy seconds,
    featurizing seconds and their share of the total; for a cascade, the share of queries escalated."""
    from policies.metrics import evaluate
    out: dict[str, Any] = {"budget": {"share": budget.share, "seconds": budget.seconds}}
    for name in ("router", "cascade"):
        if name not in routers:
            continue
        r = routers[name]
        p = evaluate(r.route(q, budget), table)
        f = overhead.get(name, 0.0) + getattr(r, "last_featurizing", 0.0)
        out[name] = {"accuracy": p.accuracy, "seconds": p.seconds, "featurizing_s": f, "total_s": p.seconds + f,
                     "featurizing_share": f / (p.seconds + f) if p.seconds + f > 0 else 0.0,
                     "escalated": getattr(r, "last_escalated", None)}
    return out


class Ablation:
    """Refit the router without one feature group at a time (same folds, same costs) and report APGR."""

    def __init__(self, table, fam, C, budgets, folds, params, weak_acc, strong_acc):
        self.table, self.fam, self.C, self.budgets = table, fam, C, budgets
        self.folds, self.params, self.weak_acc, self.strong_acc = folds, params, weak_acc, strong_acc

    def apgr(self, keep: list[str]) -> float | None:
        from policies.crossval import OutOfFold, out_of_fold
        from policies.metrics import curve
        t = self.table
        P, _ = out_of_fold(t, self.fam, n_splits=self.folds, columns=keep, **self.params)
        pts = curve(OutOfFold(P, t.strategies), t, seconds=self.budgets, costs=self.C)
        lo, hi = self.budgets[0], self.budgets[-1]
        return gap_metrics(cost_axis(pts, lo, hi), self.weak_acc, self.strong_acc)["apgr"]

    def run(self, cols: list[str], apgr_all: float | None, feature_costs: dict[str, dict]) -> list[dict[str, Any]]:
        """One entry per registered feature group in the log, plus all model features at once; the cost
        column is the group's mean seconds per query as collected (None when it was not recorded)."""
        from policies.features import FEATURES
        model = [s.name for s in FEATURES.values() if s.runs_model and set(s.keys) & set(cols)]
        drops = [(s.name, [s.name], [c for c in s.keys if c in cols]) for s in FEATURES.values()]
        drops.append(("all model features", model, [c for n in model for c in FEATURES[n].keys if c in cols]))
        out = []
        for name, specs, dropped in drops:
            if not dropped:
                continue
            keep = [c for c in cols if c not in dropped]
            a = self.apgr(keep) if keep else None
            known = [feature_costs[n]["wall_s"] for n in specs if n in feature_costs]
            out.append({"dropped": name, "columns": dropped, "apgr": a,
                        "apgr_change": None if a is None or apgr_all is None else a - apgr_all,
                        "cost_s_per_query": sum(known) if known else None})
        return out


def _cascade(text: str | None) -> list[str] | None:
    if text is None:
        return None
    from policies.cascade import stage1_features
    return stage1_features(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="outcome-log URL (default $TTTC_DB, then sqlite:///tttc.db)")
    ap.add_argument("--out", required=True, help="results JSON, e.g. runs/router-bench.json")
    ap.add_argument("--md", action="store_true", help="print Markdown tables for eval/RESULTS.md")
    ap.add_argument("--folds", type=int, default=5, help="GroupKFold folds over families")
    ap.add_argument("--cheap", default="icl", help="the default route (the weak end of APGR)")
    ap.add_argument("--estimator", default="logreg", help="router classifier: logreg or hgb")
    ap.add_argument("--C", type=float, default=1.0,
                    help="logreg's inverse regularisation strength, as `tttc train-router --C` (default 1; hgb ignores it)")
    ap.add_argument("--model-id", default=None, help="the model whose rows to use (needed when the log holds several)")
    ap.add_argument("--no-ablation", action="store_true", help="skip the feature ablation")
    ap.add_argument("--cascade", default=None, metavar="FEATURES",
                    help="test a two-stage cascade whose stage 1 reads these features ('free': every feature "
                         "that needs no model), as `tttc train-router --cascade`")
    ap.add_argument("--escalate", default="0.1", metavar="RATE|pays",
                    help="with --cascade: share of queries escalated, or 'pays': where escalating pays at each "
                         "budget, the escalation features' logged seconds counted (chosen on the other folds), as "
                         "`tttc train-router --escalate`")
    ap.add_argument("--budget", default=None,
                    help="also report the learned routers at this budget, featurizing counted (share=F or "
                         "seconds=S, as `tttc train-router --budget`)")
    ap.add_argument("--features", default=None,
                    help="comma-separated registered feature names the router may read (default: all logged), "
                         "as `tttc train-router --features`")
    args = ap.parse_args(argv)
    try:
        cascade = _cascade(args.cascade)
    except ValueError as e:
        print(f"bench_router: --cascade: {e}", file=sys.stderr)
        return 2
    from policies.cascade import parse_escalate
    from policies.train import parse_budget
    try:
        escalate = parse_escalate(args.escalate)
        at = None if args.budget is None else parse_budget(args.budget)
    except ValueError as e:
        print(f"bench_router: {e}", file=sys.stderr)
        return 2
    if not args.C > 0:
        print(f"bench_router: --C {args.C}: expected a positive number", file=sys.stderr)
        return 2

    from policies.outcomes import OutcomeLog

    with OutcomeLog(args.db) as log:
        rows = log.rows(with_feedback=True)
        models = sorted({r["model_id"] for r in rows})
        if args.model_id is None and len(models) > 1:
            print(f"bench_router: the log holds several models {models}; pass --model-id", file=sys.stderr)
            return 2
        model_id = args.model_id or (models[0] if models else None)
        rows = [r for r in rows if r["model_id"] == model_id]
        if not rows:
            print(f"bench_router: no labelled rows in {log.url}; run `tttc collect` first", file=sys.stderr)
            return 1
        costs = log.feature_costs.means(model_id)
        task_costs = log.feature_costs.by_task(model_id)
    import sklearn.linear_model  # noqa: F401  (loads the BLAS and OpenMP libraries the limit must reach)
    from threadpoolctl import threadpool_limits
    try:
        with threadpool_limits(1):   # hundreds of small fits: extra BLAS threads only contend (10x slower on 2 busy cores)
            res = benchmark(rows, folds=args.folds, cheap=args.cheap, estimator=args.estimator, feature_costs=costs,
                            ablate=not args.no_ablation, features=args.features.split(",") if args.features else None,
                            cascade=cascade, escalate=escalate, logreg_C=args.C, task_costs=task_costs, at=at)
    except ValueError as e:   # no complete task, unrecorded costs of the features escalation weighs, ...
        print(f"bench_router: {e}", file=sys.stderr)
        return 1
    command = " ".join([".venv/bin/python -m eval.bench_router", *(argv if argv is not None else sys.argv[1:])])
    res = {"command": command, "model_id": model_id, **res}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    if args.md:
        from eval.bench_router_md import markdown
        print(markdown(res, command))
    else:
        for name, t in res["targets"].items():
            print(f"{name}: {'PASS' if t['pass'] else 'FAIL'}")
    print(f"results: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
