"""`tttc ask PATH...`: answer task files; one JSON line per task with --json."""
from __future__ import annotations

import json
import sys


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="task JSON files or folders of them")
    p.add_argument("--strategy", default="icl", help="a strategy name (see `tttc strategies`) or 'auto' for the router")
    p.add_argument("--model", default=None, help="embedded model name (smollm2, gemma3-270m), a local HF model folder, "
                                                 "or 'tiny' (random test model: plumbing only)")
    p.add_argument("--strategies-file", default=None, help="YAML/JSON file of extra strategies")
    p.add_argument("--json", action="store_true", help="one JSON object per task on stdout")
    p.add_argument("--db", default=None, help="log outcomes to this SQLAlchemy URL (or set TTTC_DB)")
    bb = p.add_argument_group("BIG-bench / BBH task files ({\"examples\": [{\"input\", \"target\"}, ...]})")
    bb.add_argument("--demos", type=int, default=10, help="demonstrations drawn from the file (default: %(default)s)")
    bb.add_argument("--queries", type=int, default=None, help="queries after them (default: all the other examples)")
    bb.add_argument("--seed", type=int, default=0, help="seed of the draw (default: %(default)s)")


def run(args) -> int:
    from pydantic import ValidationError

    from strategies.bigbench import Sampling
    from strategies.registry import registry
    from strategies.task import TaskError, load_task, task_paths

    reg = registry()
    if args.strategies_file:
        reg.load_file(args.strategies_file)
    if args.strategy != "auto":
        reg.get(args.strategy)  # fail before loading the model
    try:
        sampling = Sampling(demos=args.demos, queries=args.queries, seed=args.seed)
    except ValidationError as e:
        err = e.errors()[0]
        print(f"tttc ask: --{err['loc'][0]}: {err['msg']}", file=sys.stderr)
        return 2
    failed = 0
    tasks = []
    for path in task_paths(args.paths):
        try:
            tasks.append(load_task(path, sampling))
        except TaskError as e:
            print(f"tttc ask: {e}", file=sys.stderr)
            failed += 1
    if not tasks:
        return 1
    from controller.client import Controller

    # the same path, features and log row as chat, /v1/solve and the Python API: the task goes to the graph as data
    controller = Controller(model=args.model, strategy=args.strategy, db=args.db)   # no --db: $TTTC_DB, else no log
    from controller.progress import Bar   # over the tasks on a terminal; none for --json or a pipe
    bar = Bar(len(tasks), "ask", live=len(tasks) > 1 and not args.json and sys.stdout.isatty())
    for task in tasks:
        bar.describe(task.name)
        answer = controller.solve(task)
        reason = "" if answer.forced else answer.reason
        row = {"task": answer.task, "strategy": answer.strategy, "attempts": answer.attempts,
               "correct": answer.correct, "cost": answer.cost.model_dump(exclude={"steps"}),
               "confidence": round(answer.confidence, 4), "model": answer.model, "adapter": answer.adapter}
        if reason:
            row["route"] = reason
        if answer.query_id:
            row["query_id"] = answer.query_id
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            mark = {True: "correct", False: "wrong", None: "unscored"}[answer.correct]
            c = answer.cost
            print(f"{answer.task}: {answer.strategy} -> {mark}  ({c.wall_s:.1f}s, {c.tokens_trained} tokens trained)"
                  + (f"  [{reason}]" if reason else ""), flush=True)
        bar.update()
    bar.close()
    return 1 if failed else 0
