"""`tttc train-router`: fit the router and cost model on the outcome log, calibrate lam to a budget, ship them."""
from __future__ import annotations

import sys

LOCAL_OUT = "runs/router"   # where a router goes unless --out, $TTTC_ROUTER_DIR or --ship says otherwise


def add_arguments(p) -> None:
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL (default $TTTC_DB, then sqlite:///tttc.db)")
    p.add_argument("--out", default=None, help="folder for router.json, cost_model.json, manifest.json (default "
                                               f"$TTTC_ROUTER_DIR, then {LOCAL_OUT}/; route with it by setting "
                                               "TTTC_ROUTER_DIR to that folder)")
    p.add_argument("--ship", action="store_true",
                   help="write into the package instead: policies/shipped/, which routing loads by default (a "
                        "router for another model than the one shipped there goes to "
                        "policies/shipped/by-model/<model id>/, loaded for that model)")
    p.add_argument("--budget", default="share=0.3",
                   help="share=F: send about F of tasks past the cheap strategy; seconds=S: mean predicted "
                        "seconds per task (default share=0.3)")
    p.add_argument("--holdout-families", default="",
                   help="comma-separated families kept out of training and reported apart")
    p.add_argument("--folds", type=int, default=5, help="grouped cross-validation folds (families never split)")
    p.add_argument("--estimator", default="logreg", help="per-strategy classifier: logreg or hgb")
    p.add_argument("--C", type=float, default=1.0,
                   help="logreg's inverse regularisation strength (default 1; smaller fits the training families "
                        "less closely; hgb ignores it)")
    p.add_argument("--features", default=None,
                   help="comma-separated feature names to route on (default: every registered feature logged)")
    p.add_argument("--model-id", default=None, help="use the rows of this model (needed when the log holds several)")
    p.add_argument("--cheap", default="icl", help="the default route; every other strategy is an expensive call")
    p.add_argument("--cascade", default=None, metavar="FEATURES",
                   help="also fit a stage-1 router on these cheap features ('free': every feature that needs no "
                        "model); a query pays for the full router's features only when stage 1 is unsure")
    p.add_argument("--escalate", default="0.1", metavar="RATE|pays",
                   help="with --cascade: the share of queries stage 1 sends on to the full router (default 0.1), "
                        "or 'pays': the threshold that maximises the realised utility of the out-of-fold routes at the "
                        "budget, the escalation features' logged seconds counted (it may escalate none)")


def out_dir(args, model_id: str | None):
    """--out; else with --ship the package's shipped folder for this model; else $TTTC_ROUTER_DIR or runs/router."""
    from pathlib import Path

    from policies.bundle import default_out
    from strategies.settings import settings
    if args.out:
        return Path(args.out)
    if args.ship:
        return default_out(model_id)
    return settings().router_dir or Path(LOCAL_OUT)


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def run(args) -> int:
    from dataclasses import asdict

    from policies.outcomes import OutcomeLog, check_exists
    from policies.bundle import save_bundle
    from policies.cascade import parse_escalate, stage1_features
    from policies.train import parse_budget, train_router

    budget = parse_budget(args.budget)
    try:
        escalate = parse_escalate(args.escalate)
    except ValueError as e:
        print(f"tttc train-router: {e}", file=sys.stderr)
        return 2
    if not args.C > 0:
        print(f"tttc train-router: --C {args.C}: expected a positive number", file=sys.stderr)
        return 2
    try:
        cascade = None if args.cascade is None else stage1_features(args.cascade)
        check_exists(args.db)
    except ValueError as e:
        print(f"tttc train-router: {e}", file=sys.stderr)
        return 1
    with OutcomeLog(args.db) as log:
        rows = log.rows(with_feedback=True)
        url = log.url
        models = sorted({r["model_id"] for r in rows})
        model = args.model_id or (models[0] if len(models) == 1 else None)   # train_router refuses the ambiguous
        feature_costs = log.feature_costs.by_task(model) if model else {}
    if not rows:
        print(f"tttc train-router: {url} holds no outcome with a known result; run `tttc collect` first",
              file=sys.stderr)
        return 1
    import sklearn.linear_model  # noqa: F401  (loads the BLAS and OpenMP libraries the limit must reach)
    from threadpoolctl import threadpool_limits
    try:
        with threadpool_limits(1):   # hundreds of small fits: extra BLAS threads only contend (10x slower on 2 busy cores)
            trained = train_router(rows, budget, [f for f in args.holdout_families.split(",") if f], folds=args.folds,
                                   features=args.features.split(",") if args.features else None,
                                   model_id=args.model_id, cheap=args.cheap, estimator=args.estimator, C=args.C,
                                   cascade_features=cascade, escalate_rate=escalate, feature_costs=feature_costs)
    except ValueError as e:   # several models in the log, no usable features, ...
        print(f"tttc train-router: {e}", file=sys.stderr)
        return 1
    r = trained.report
    out = save_bundle(trained.router, trained.cost_model, out_dir(args, trained.model_id), stage1=trained.stage1,
                      cascade=trained.cascade, budget=asdict(budget),
                      cheap=trained.cheap, model_id=trained.model_id, report=r, db=url,
                      arguments={k: v for k, v in vars(args).items() if k != "command"})

    if r.get("excluded_reporting_suites"):
        print(f"left out rows of reporting-only suites: {', '.join(r['excluded_reporting_suites'])}")
    print(f"{r['tasks']} tasks ({r['complete_tasks']} with every strategy), {r['families']} families, "
          f"model {r['model_id']}")
    for s, a in r["always"].items():
        print(f"  always {s:<12} accuracy {_fmt(a['accuracy'])}  {_fmt(a['seconds'])} s")
    cv = r["cv"]
    if "at_budget" in cv:
        b = cv["at_budget"]
        print(f"cross-validated, {cv['folds']} folds grouped by family (each fold's families unseen in training):")
        print(f"  at {args.budget}: accuracy {_fmt(b['accuracy'])}, {_fmt(b['seconds'])} s, share {_fmt(b['share'])}")
        if "apgr" in cv:
            print(f"  APGR over the share of expensive calls (RouteLLM's axis; `python -m eval.bench_router` "
                  f"also gives it over seconds) {_fmt(cv['apgr'])}  CPT(50%) {_fmt(cv['cpt50'])}  CPT(80%) {_fmt(cv['cpt80'])}"
                  f"  ({cv['weak']} -> {cv['strong']})")
    if cv.get("note"):
        print(f"  note: {cv['note']}")
    if r["holdout"]:
        h = r["holdout"]["routed"]
        print(f"held-out families {r['holdout']['families']}: accuracy {_fmt(h['accuracy'])}, "
              f"{_fmt(h['seconds'])} s, share {_fmt(h['share'])}")
    if r.get("cascade"):
        c = r["cascade"]
        at = c["at_budget"]
        where = (f": accuracy {_fmt(at['accuracy'])}, {_fmt(at['seconds'])} s of strategy time"
                 if at else "")
        print(f"cascade: stage 1 on {len(c['features'])} cheap columns, {_fmt(c['escalated'])} of tasks "
              f"escalate to the full router's features{where}; {_fmt(c['featurizing_s'])} s of escalation "
              "features per task")
        if c.get("gain"):
            g = c["gain"]
            print(f"  escalating where it pays (threshold {c['threshold']}): utility gain per task over escalating "
                  f"none {_fmt(g['chosen'])}; escalating all would gain {_fmt(g['all'])}")
    print(f"lam {r['lam']:.4g} per second; saved to {out}")
    return 0

