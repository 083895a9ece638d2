"""`tttc collect SOURCE`: run strategies on tasks and log scored outcomes with features, for training the router."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="a suite name (heldout, adapt, arc1-train, arc1-eval-small), a task file or a folder")
    p.add_argument("--strategies", default=None,
                   help="comma-separated strategy names, e.g. icl,icl-vote,ttt-lite,ttt (default: every registered one)")
    p.add_argument("--strategies-file", default=None, help="YAML/JSON file of extra strategies")
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL (default $TTTC_DB, then sqlite:///tttc.db)")
    p.add_argument("--n-per-family", type=int, default=None, help="tasks per family for synthetic suites (default 5)")
    p.add_argument("--seed", type=int, default=None, help="first seed for synthetic suites (default: EVAL_SEED0)")
    p.add_argument("--kind", choices=("grid", "text"), default=None,
                   help="only tasks of this kind (e.g. text: skip grids where no strategy of a small model scores)")
    p.add_argument("--families", default=None,
                   help="comma-separated family names: only their tasks (synthetic suites), e.g. time_24h,zero_pad")
    p.add_argument("--limit", type=int, default=None, help="at most this many tasks (after --kind and --families, in order)")
    p.add_argument("--model", default=None,
                   help="embedded model name, a local HF folder, or 'tiny' (random 2-layer model, for tests "
                        "and development: plumbing in seconds, answers are noise)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: jobs one by one in this process; ray: jobs as Ray tasks, one model per worker")
    p.add_argument("--ray-address", default=None,
                   help="Ray cluster to join (default $RAY_ADDRESS; neither: start a local instance)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray instance (default: all)")
    p.add_argument("--cpus-per-job", type=float, default=1.0, help="CPUs Ray reserves per job (torch uses as many threads)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-run lines")


def run(args) -> int:
    from controller.progress import Bar   # on a terminal; per-run lines only, when piped
    from policies.outcomes import OutcomeLog
    from eval.collect import collect, family_of, load_source
    from eval.executors import make_executor
    from strategies.registry import registry

    reg = registry()
    if args.strategies_file:
        reg.load_file(args.strategies_file)
    names = [s.strip() for s in args.strategies.split(",") if s.strip()] if args.strategies else reg.names()
    specs = [reg.get(n) for n in dict.fromkeys(names)]   # unknown names fail here, before any model loads
    wanted = None
    if args.families:
        from eval.suites.families import FAMILIES
        wanted = {f.strip() for f in args.families.split(",") if f.strip()}
        unknown = sorted(wanted - set(FAMILIES))
        if unknown:
            print(f"tttc collect: --families: unknown {', '.join(unknown)}; known: {', '.join(sorted(FAMILIES))}",
                  file=sys.stderr)
            return 2
    sources = [load_source(src, args.n_per_family, args.seed) for src in args.sources]
    if args.kind:
        sources = [(suite, [t for t in tasks if t.kind == args.kind]) for suite, tasks in sources]
    if wanted is not None:
        sources = [(suite, [t for t in tasks if family_of(t.name) in wanted]) for suite, tasks in sources]
    log = OutcomeLog(args.db)
    options = {}
    if args.executor == "ray":
        options = {"address": args.ray_address, "num_cpus": args.num_cpus, "cpus_per_job": args.cpus_per_job}
    print(f"loading the model ({args.executor}) ...", file=sys.stderr, flush=True)
    executor = make_executor(args.executor, args.model, **options)
    left = args.limit
    failed = []
    try:
        for suite, tasks in sources:
            if left is not None:
                tasks, left = tasks[:left], max(0, left - len(tasks))
            if not tasks:
                continue
            print(f"{suite}: {len(tasks)} tasks x {len(specs)} strategies, model {executor.model_id}, db {log.url}",
                  file=sys.stderr, flush=True)
            tally = collect(tasks, specs, log, executor, suite=suite, show_progress=not args.quiet,
                            make_bar=lambda total, label: Bar(total, label, live=not args.quiet and sys.stdout.isatty()))
            failed += tally.failed
            print(f"{suite}: {tally.written} rows written, {tally.skipped} already logged, "
                  f"{len(tally.failed)} failed", flush=True)
    finally:
        executor.close()
        log.close()
    for line in failed:
        print(f"tttc collect: failed: {line}", file=sys.stderr)
    return 1 if failed else 0
