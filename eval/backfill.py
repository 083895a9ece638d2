"""Add a newly registered feature to outcome logs collected before it existed.

A new feature is only worth shipping if a router trained with it routes better, and that needs its values
on the tasks already logged. Synthetic tasks are rebuilt from their names (`family-seed`, checked against
the logged content hash); the feature runs once per task; every row of that task gets the new columns, and
the feature's cost joins the `.feature-costs.jsonl` file beside the log. Values are kept in a work folder
as each task finishes, so an interrupted run resumes, and `--shard i/n` splits the tasks over processes.
The log files are rewritten (atomically) only with `--write`, once every task of a file has its values.

    python -m eval.backfill --features ttt_probe --model gemma3-270m --shard 0/2 eval/data/outcomes-X.jsonl ...
    python -m eval.backfill --features ttt_probe --model gemma3-270m --write eval/data/outcomes-X.jsonl ...

Tasks that cannot be rebuilt (ARC files, tasks pasted in chat) are listed and left without the columns; a
router imputes missing values.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from policies.outcomes import costs_path
from strategies.runtime.protocol import ModelRuntime

WORK = Path("runs/backfill")


def _rows(path: Path) -> list[dict[str, Any]]:
    from policies.outcomes import read_jsonl
    return read_jsonl(path, lambda d: d, "an outcome row")


def rebuild(task_name: str, task_hash: str) -> Any | None:
    """The synthetic task behind a logged name, or None when the name is not `family-seed` of a registered
    family. A rebuilt task whose content differs from the logged one is an error: the family's generator
    changed since the log was written, and its values would describe another task."""
    from eval.suites.families.registry import FAMILIES, make_task
    family, _, seed = task_name.rpartition("-")
    if family not in FAMILIES or not seed.isdigit():
        return None
    task = make_task(family, int(seed))
    if task.content_hash() != task_hash:
        raise ValueError(f"{task_name}: rebuilt task hashes to {task.content_hash()}, the log says {task_hash} "
                         f"(the family's generator changed since it was logged)")
    return task


def _work_files(work: Path, log: Path) -> list[Path]:
    return sorted(work.glob(f"{log.name.removesuffix('.jsonl')}.*.jsonl"))


def _done(work: Path, log: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    for f in _work_files(work, log):
        for line in f.read_text().splitlines():
            if line.strip():
                d = json.loads(line)
                done[d["task_hash"]] = d
    return done


def compute(logs: Sequence[Path], features: Sequence[str], runtime: ModelRuntime, work: Path, shard: tuple[int, int],
            say=print) -> dict[str, list[str]]:
    """Compute the features for every rebuildable task of `logs` in this shard that has no values yet.
    Returns, per log, the names of the tasks that could not be rebuilt."""
    from policies.features import featurize
    work.mkdir(parents=True, exist_ok=True)
    skipped: dict[str, list[str]] = {}
    i, n = shard
    for log in logs:
        rows = _rows(log)
        models = {r["model_id"] for r in rows}
        if models != {runtime.model_id}:
            raise ValueError(f"{log}: rows are from {sorted(models)}, the runtime is {runtime.model_id}; "
                             f"features from another model would not describe what its strategies saw")
        tasks = list(dict.fromkeys((r["task_hash"], r["task_name"]) for r in rows))
        done = _done(work, log)
        out = work / f"{log.name.removesuffix('.jsonl')}.{i}.jsonl"
        todo = [(h, name) for k, (h, name) in enumerate(tasks) if k % n == i and h not in done]
        say(f"{log.name}: {len(tasks)} tasks, {len(done)} done, {len(todo)} for shard {i}/{n}")
        for h, name in todo:
            task = rebuild(name, h)
            if task is None:
                skipped.setdefault(str(log), []).append(name)
                continue
            start = time.perf_counter()
            f = featurize(task, runtime, names=features)
            record = {"task_hash": h, "task_name": name, "values": f.values,
                      "costs": {k: c.model_dump() for k, c in f.costs.items()}}
            with out.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
            say(f"  {name:<32} {time.perf_counter() - start:5.1f} s  "
                + " ".join(f"{k}={v:.3f}" for k, v in f.values.items()))
    return skipped


def write(logs: Sequence[Path], work: Path, model_id: str, say=print) -> None:
    """Rewrite each log with the computed columns added to its rows, and its feature-cost file with the
    computed features' costs. Refuses a log with rebuildable tasks still missing values."""
    for log in logs:
        rows = _rows(log)
        done = _done(work, log)
        tasks = dict.fromkeys((r["task_hash"], r["task_name"]) for r in rows if r["task_hash"] not in done)
        missing = [name for h, name in tasks if rebuild(name, h) is not None]
        if missing:
            raise SystemExit(f"{log}: {len(missing)} tasks have no values yet (e.g. {missing[0]}); "
                             f"run without --write first")
        for r in rows:
            if r["task_hash"] in done:
                r["features"] = {**r["features"], **done[r["task_hash"]]["values"]}
        _replace(log, [json.dumps(r) for r in rows])
        cpath = costs_path(log)
        names = {name for d in done.values() for name in d["costs"]}
        old = [json.loads(x) for x in cpath.read_text().splitlines() if x.strip()] if cpath.exists() else []
        kept = [c for c in old if not (c["feature"] in names and c["task_hash"] in done)]
        new = [{"task_hash": h, "model_id": model_id, "feature": name,
                **{k: c[k] for k in ("wall_s", "tokens_in", "tokens_out", "flops")}}
               for h, d in done.items() for name, c in d["costs"].items()]
        _replace(cpath, [json.dumps(c) for c in kept + new])
        say(f"{log.name}: {sum(r['task_hash'] in done for r in rows)} of {len(rows)} rows updated, "
            f"{len(new)} feature costs")


def _replace(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines))
    os.replace(tmp, path)


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected i/n, e.g. 0/2") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: need 0 <= i < n")
    return i, n


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logs", nargs="+", type=Path, help="outcome jsonl files (tttc export-outcomes)")
    ap.add_argument("--features", required=True, help="registered feature names, comma-separated")
    ap.add_argument("--model", default=None, help="the model the logs were collected with (default: the default model)")
    ap.add_argument("--work", type=Path, default=WORK, help=f"where computed values wait (default {WORK})")
    ap.add_argument("--shard", type=_shard, default=(0, 1), help="i/n: this process takes every n-th task from the i-th")
    ap.add_argument("--write", action="store_true", help="rewrite the logs with the values (all must be computed)")
    args = ap.parse_args(argv)
    from policies.features import FEATURES
    features = [f.strip() for f in args.features.split(",") if f.strip()]
    unknown = [f for f in features if f not in FEATURES]
    if unknown or not features:
        ap.error(f"--features: unknown {unknown}; registered: {', '.join(FEATURES)}")
    missing = [str(p) for p in args.logs if not p.is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(missing)}")
    from strategies.runtime import Runtime
    runtime = Runtime.load(args.model)
    skipped = compute(args.logs, features, runtime, args.work, args.shard, say=lambda s: print(s, flush=True))
    for log, names in skipped.items():
        print(f"{log}: {len(names)} tasks cannot be rebuilt from their names, left without the columns "
              f"(e.g. {names[0]})", file=sys.stderr)
    if args.write:
        write(args.logs, args.work, runtime.model_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
