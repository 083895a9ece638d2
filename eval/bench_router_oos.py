"""A shipped router on an outcome log it was not trained on: the cost-axis figures of eval/bench_router.py.

  .venv/bin/python -m eval.bench_router_oos --db sqlite:///runs/oos.db --out runs/router-oos.json

bench_router.py cross-validates a router it fits; this one fits nothing. It loads a router bundle (default:
the shipped one), computes its P(correct) and its cost model's seconds for every logged query, and sweeps
the same mean-seconds budgets against the same baselines: the full router, the two-stage cascade as it is
served (stage 1 on its features, the bundle's escalation rate), the perplexity and self-consistency
thresholds, random and the oracle. The budgets, lam and thresholds are calibrated on the queries at hand,
as in bench_router.py. APGR is between always-`cheap` and the best always-TTT strategy of this log.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _matrix(table, names):
    import numpy as np
    cols = [table.feature_names.index(c) if c in table.feature_names else None for c in names]
    return np.column_stack([table.X[:, i] if i is not None else np.full(table.n, np.nan) for i in cols])


def evaluate(rows: list[dict], bundle) -> dict[str, Any]:
    from eval.bench_router import baselines, cost_axis, gap_metrics, points_json
    from policies.cascade import CascadeOOF
    from policies.crossval import OutOfFold, feature_dicts
    from policies.metrics import curve
    from policies.table import pivot
    from policies.train import feature_set

    table = pivot(rows, feature_names=feature_set(rows, None), cheap=bundle.cheap).complete()
    if table.n == 0:
        raise ValueError("no task has an outcome for every strategy")
    missing = [s for s in bundle.strategies if s not in table.strategies]
    if missing:
        raise ValueError(f"the log has no outcomes for the router's strategies {missing}")
    C = bundle.cost_model.predict_matrix(feature_dicts(table), table.strategies)   # the log's strategy order
    P = bundle.router.predict_proba(_matrix(table, bundle.feature_names))           # the bundle's order
    base = baselines(table, table.feature_names)
    acc, secs, strong, budgets = base.acc, base.secs, base.strong, base.budgets
    routers: dict[str, Any] = {"router": OutOfFold(P, bundle.strategies), **base.reference}
    if bundle.stage1 is not None:
        P1 = bundle.stage1.predict_proba(_matrix(table, list(bundle.stage1.feature_names_in_)))
        routers["cascade"] = CascadeOOF(P1, P, bundle.strategies, float(bundle.cascade["rate"]))
    routers.update(base.thresholds)
    lo, hi = secs[table.cheap], secs[strong]
    curves = {name: curve(r, table, seconds=budgets, costs=C) for name, r in routers.items()}
    weak_acc, strong_acc = acc[table.cheap], acc[strong]
    return {"tasks": table.n, "families": len({r.get("family") for r in rows}), "strong": strong,
            "always": {s: {"accuracy": acc[s], "seconds": secs[s]} for s in table.strategies}, "budgets_s": budgets,
            "apgr_cost": {name: gap_metrics(cost_axis(pts, lo, hi), weak_acc, strong_acc)["apgr"]
                          for name, pts in curves.items()},
            "curves": {name: points_json(pts) for name, pts in curves.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="outcome-log URL holding queries the router never saw")
    ap.add_argument("--router", default=None, help="router bundle folder (default: the shipped one for the log's model)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from policies.outcomes import OutcomeLog
    from policies.bundle import bundle_dir, load_bundle

    with OutcomeLog(args.db) as log:
        rows = log.rows(with_feedback=True)
    models = sorted({r["model_id"] for r in rows})
    if len(models) != 1:
        print(f"bench_router_oos: need the rows of exactly one model, the log has {models}", file=sys.stderr)
        return 2
    where = args.router or bundle_dir(models[0])
    bundle = load_bundle(where)
    if bundle is None:
        print(f"bench_router_oos: no router bundle in {where}", file=sys.stderr)
        return 2
    if bundle.manifest.get("model_id") not in (None, models[0]):
        print(f"bench_router_oos: the router in {where} was trained for {bundle.manifest['model_id']}, "
              f"the log holds {models[0]}", file=sys.stderr)
        return 2
    try:
        res = evaluate(rows, bundle)
    except ValueError as e:
        print(f"bench_router_oos: {e}", file=sys.stderr)
        return 1
    command = " ".join([".venv/bin/python -m eval.bench_router_oos", *(argv if argv is not None else sys.argv[1:])])
    res = {"command": command, "model_id": models[0], **res}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps({k: res[k] for k in ("tasks", "families", "strong", "apgr_cost")}, indent=1))
    for i, b in enumerate(res["budgets_s"]):
        print(f"{b:6.1f} s  " + "  ".join(f"{n} {res['curves'][n][i]['accuracy']:.3f}/{res['curves'][n][i]['seconds']:.1f}"
                                         for n in res["curves"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
