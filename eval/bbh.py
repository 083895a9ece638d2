"""The BIG-Bench Hard suite: every strategy on every BBH task, one outcome row per (query, strategy).

Each BBH file becomes one task (strategies/bigbench.py): `--demos` demonstrations drawn with `--seed`, the
next `--queries` examples as its queries. A strategy runs once per task (one TTT adapter for all its
queries); its result is split into one row per query, carrying that query's attempts, its normalised
exact-match score and an equal share of the run's cost. The task's difficulty features are computed
once, on its demonstrations and first query, and shared by its rows; their cost is shared the same way.
Rows land in the outcome log as they finish, so an interrupted run resumes where it stopped.

    python -m eval.bbh --queries 30 --db sqlite:///runs/bbh-gemma3.db          # all 27 tasks, 5 strategies
    python -m eval.bbh --queries all ...                                         # every example as a query
    python -m eval.bbh --jobs 2 ...                                              # two processes share the tasks
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from strategies.base import Result
from strategies.bigbench import Sampling
from strategies.task import Task, TaskError, load_task

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbh"
DEFAULT_STRATEGIES = ("zero-shot", "icl", "icl-vote", "ttt-lite", "ttt")
SUITE = "bbh"


def load_bbh(data: Path, sampling: Sampling, names: Sequence[str] | None = None) -> list[Task]:
    """The BBH tasks in `data` (all *.json, or just `names`), sampled; a bad file is a TaskError naming it."""
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: no such folder (the BBH files; pass --data)")
    paths = sorted(data.glob("*.json"))
    if names:
        known = {p.stem: p for p in paths}
        missing = [n for n in names if n not in known]
        if missing:
            raise FileNotFoundError(f"{data}: no task(s) {', '.join(missing)}; known: {', '.join(sorted(known))}")
        paths = [known[n] for n in names]
    return [load_task(p, sampling) for p in paths]


def query_task(task: Task, i: int, number: int | None = None) -> Task:
    """The task as seen by its i-th query alone: the same demonstrations, one test input; named by the
    query's `number` in the whole task (default i)."""
    return task.model_copy(update={"test": (task.test[i],), "name": f"{task.name}/{i if number is None else number}"})


def split_result(task: Task, result: Result, numbers: Sequence[int] | None = None) -> list[tuple[Task, Result]]:
    """One (query task, result) per query, named by `numbers` (default 0..n-1); each result carries 1/n
    of the run's cost."""
    n = len(task.test)
    numbers = list(range(n)) if numbers is None else list(numbers)
    share = result.cost.model_copy(update={k: getattr(result.cost, k) / n for k in ("wall_s", "flops")}
                                   | {k: getattr(result.cost, k) // n for k in ("tokens_in", "tokens_out",
                                                                               "tokens_trained", "steps")})
    return [(query_task(task, i, numbers[i]), result.model_copy(update={"attempts": [result.attempts[i]],
                                                                         "cost": share, "info": {}}))
            for i in range(n)]


def missing_queries(task: Task, strategy: str, done: set[tuple[str, str, str]],
                    model_id: str) -> tuple[Task, list[int]] | None:
    """`task` cut to the queries whose row for `strategy` is not in the log yet, with their numbers in
    `task` (None when none is missing), so that a resumed or widened run (more --queries, same seed)
    adds only new rows."""
    numbers = [i for i in range(len(task.test))
               if (query_task(task, i).content_hash(), strategy, model_id) not in done]
    if not numbers:
        return None
    return task.model_copy(update={"test": tuple(task.test[i] for i in numbers)}), numbers


def task_features(task: Task, runtime: Any, log: Any, model_id: str, names: Sequence[str] | None) -> dict[str, float]:
    """The task's features (`names`, default every registered one; its first query standing for the
    rest), computed once: a resumed run reads them back from the task's rows. Their cost is recorded
    per query row, shared."""
    first = query_task(task, 0).content_hash()
    for row in reversed(log.rows(task_hash=first, model_id=model_id)):
        if row.get("features"):
            return row["features"]
    from policies.features import featurize
    f = featurize(query_task(task, 0), runtime, names=names)
    n = len(task.test)
    costs = {k: {**c.model_dump(), "wall_s": c.wall_s / n, "flops": c.flops / n} for k, c in f.costs.items()}
    for i in range(n):
        log.feature_costs.record(query_task(task, i).content_hash(), model_id, costs)
    return f.values


def run_suite(tasks: Sequence[Task], strategies: Sequence[str], runtime: Any, log: Any,
              features: Sequence[str] | None = None,
              say=lambda text: print(text, file=sys.stderr, flush=True)) -> int:
    """Run every (task, strategy, query) not yet logged; returns the number of rows written."""
    from policies.outcomes import OutcomeRow
    from strategies.registry import get_strategy

    model_id = runtime.model_id
    written = 0
    for k, task in enumerate(tasks, 1):
        done = log.done_keys(model_id)
        todo = {s: t for s in strategies if (t := missing_queries(task, s, done, model_id)) is not None}
        if not todo:
            say(f"[{k}/{len(tasks)}] {task.name}: done")
            continue
        start = time.perf_counter()
        values = task_features(task, runtime, log, model_id, features)
        say(f"[{k}/{len(tasks)}] {task.name}: features in {time.perf_counter() - start:.1f} s")
        for name, (part, numbers) in todo.items():
            result = get_strategy(name).run(part, runtime)
            rows = [OutcomeRow.from_result(q, r, model_id, features=values, suite=SUITE, family=task.name)
                    for q, r in split_result(part, result, numbers)]
            log.extend(rows)
            written += len(rows)
            right = sum(bool(r.correct) for r in rows)
            say(f"[{k}/{len(tasks)}] {task.name:<42} {name:<10} {right:>3}/{len(rows)}  "
                f"{result.cost.wall_s:7.1f} s ({result.cost.wall_s / len(rows):.2f} s/query)")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bbh", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of BBH task files (default: %(default)s)")
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: every file in --data)")
    p.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES), help="comma-separated (default: %(default)s)")
    p.add_argument("--demos", type=int, default=10, help="demonstrations per task (default: %(default)s)")
    p.add_argument("--queries", default="30", help="queries per task, or 'all' (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the demonstration draw (default: %(default)s)")
    p.add_argument("--model", default=None, help="embedded model name, a local HF folder, or 'tiny'")
    p.add_argument("--features", default="router", help="'router' (what the shipped router's recipe reads: "
                   "model-free features and the learnability probe), 'all', or comma-separated feature names")
    p.add_argument("--db", required=True, help="outcome log (SQLAlchemy URL), e.g. sqlite:///runs/bbh-gemma3.db")
    p.add_argument("--export", type=Path, default=None, help="afterwards, write the suite's rows to this JSONL file")
    p.add_argument("--jobs", type=int, default=1, help="processes sharing out the tasks, one torch thread each "
                   "(default: %(default)s): on 2 cores, 2 keep both busy")
    args = p.parse_args(argv)

    from strategies.registry import StrategyError, registry
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    try:
        for s in strategies:
            registry().get(s)
        queries = None if args.queries == "all" else int(args.queries)
        sampling = Sampling(demos=args.demos, queries=queries, seed=args.seed)
        tasks = load_bbh(args.data, sampling, [t.strip() for t in args.tasks.split(",")] if args.tasks else None)
        if args.jobs < 1:
            raise ValueError(f"--jobs {args.jobs}: expected at least 1")
    except (StrategyError, TaskError, FileNotFoundError, ValueError) as e:
        print(f"eval.bbh: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2

    from policies.outcomes import OutcomeLog
    if args.jobs > 1 and len(tasks) > 1:
        failed = run_jobs(args, [t.name for t in tasks])
        if args.export:
            with OutcomeLog(args.db) as log:
                export_suite(log, args.export)
        return 1 if failed else 0
    from strategies.runtime import load_runtime
    runtime = load_runtime(args.model)
    with OutcomeLog(args.db) as log:
        n = run_suite(tasks, strategies, runtime, log, feature_names(args.features, runtime.model_id))
        print(f"eval.bbh: {n} rows written to {args.db}", file=sys.stderr)
        if args.export:
            export_suite(log, args.export)
    return 0


def run_jobs(args: argparse.Namespace, names: Sequence[str]) -> int:
    """The tasks dealt out to `args.jobs` processes of this command, each with one torch thread (two torch
    processes with a thread per core each slow one another down many times over) and all writing to the one
    outcome log (SQLite in WAL mode takes several writers). Returns how many processes failed."""
    import os
    import subprocess

    jobs = min(args.jobs, len(names))
    common = ["--data", str(args.data), "--strategies", args.strategies, "--demos", str(args.demos),
              "--queries", str(args.queries), "--seed", str(args.seed), "--features", args.features, "--db", args.db]
    if args.model:
        common += ["--model", args.model]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TTTC_TORCH_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "eval.bbh", *common, "--tasks", ",".join(names[i::jobs])], env=env)
             for i in range(jobs)]
    print(f"eval.bbh: {len(names)} tasks in {jobs} processes: " + "; ".join(",".join(names[i::jobs]) for i in range(jobs)),
          file=sys.stderr)
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:   # the processes got the same signal; wait so that none is left writing
        codes = [p.wait() for p in procs]
        raise
    failed = sum(c != 0 for c in codes)
    if failed:
        print(f"eval.bbh: {failed} of {jobs} processes failed (their logged rows are kept; run again to resume)",
              file=sys.stderr)
    return failed


def feature_names(choice: str, model_id: str | None) -> list[str] | None:
    """--features as names: None for 'all', the shipped router's for 'router', else the list given."""
    if choice == "all":
        return None
    if choice == "router":
        from policies.decide import router_features
        from policies.features import FEATURES
        return router_features(model_id=model_id) or [n for n, s in FEATURES.items() if s.needs == "none"]
    return [n.strip() for n in choice.split(",") if n.strip()]


def export_suite(log: Any, path: Path) -> int:
    """The suite's rows (every model) as JSONL, beside their feature costs (`<stem>.feature-costs.jsonl`)."""
    others = {r["task_hash"] for r in log.rows() if r.get("suite") != SUITE}
    n = log.export_jsonl(path, skip_tasks=others)
    log.feature_costs.export_jsonl(path.with_suffix(".feature-costs.jsonl"), skip_tasks=others)
    print(f"eval.bbh: {n} rows exported to {path}", file=sys.stderr)
    return n


if __name__ == "__main__":
    sys.exit(main())
