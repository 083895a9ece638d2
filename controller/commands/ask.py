"""`tttc ask PATH...`: answer task files; one JSON line per task with --json."""
from __future__ import annotations

import json
import os
import sys


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="task JSON files or folders of them")
    p.add_argument("--strategy", default="icl", help="a strategy name (see `tttc strategies`) or 'auto' for the router")
    p.add_argument("--model", default=None, help="embedded model name (smollm2, gemma3-270m), a local HF model folder, "
                                                 "or 'tiny' (random test model: plumbing only)")
    p.add_argument("--strategies-file", default=None, help="YAML/JSON file of extra strategies")
    p.add_argument("--json", action="store_true", help="one JSON object per task on stdout")
    p.add_argument("--db", default=None, help="log outcomes to this SQLAlchemy URL (or set TTTC_DB)")


def run(args) -> int:
    from strategies.library import registry
    from strategies.task import TaskError, load_task, score, task_paths

    reg = registry()
    if args.strategies_file:
        reg.load_file(args.strategies_file)
    if args.strategy != "auto":
        reg.get(args.strategy)  # fail before loading the model
    failed = 0
    tasks = []
    for path in task_paths(args.paths):
        try:
            tasks.append(load_task(path))
        except TaskError as e:
            print(f"tttc ask: {e}", file=sys.stderr)
            failed += 1
    if not tasks:
        return 1
    from controller.answer import Answerer
    answerer = Answerer(model=args.model, db=args.db or os.environ.get("TTTC_DB"))
    from controller.progress import Bar   # over the tasks on a terminal; none for --json or a pipe
    bar = Bar(len(tasks), "ask", live=len(tasks) > 1 and not args.json and sys.stdout.isatty())
    for task in tasks:
        bar.describe(task.name)
        out = answerer.answer(task, args.strategy)
        correct = score(task, out.result.prediction())
        row = {"task": task.name, "strategy": out.result.strategy, "attempts": out.result.attempts,
               "correct": correct, "cost": out.result.cost.model_dump(exclude={"steps"}),
               "confidence": round(out.result.confidence, 4)}
        if out.route_reason:
            row["route"] = out.route_reason
        if out.query_id:
            row["query_id"] = out.query_id
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            mark = {True: "correct", False: "wrong", None: "unscored"}[correct]
            c = out.result.cost
            print(f"{task.name}: {out.result.strategy} -> {mark}  ({c.wall_s:.1f}s, {c.tokens_trained} tokens trained)"
                  + (f"  [{out.route_reason}]" if out.route_reason else ""), flush=True)
        bar.update()
    bar.close()
    return 1 if failed else 0
