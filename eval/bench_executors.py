"""Local vs Ray executor on the same collect: wall time by task count (scale-out shows as time per task, not speed-up on 2 cores).

  .venv/bin/python -m eval.bench_executors --out eval/results/executors.json

Each point is one `tttc collect` subprocess on a fresh log (model load and, for Ray, starting a local
instance included), over the first N held-out text tasks with the given strategies. The logged rows of the
two executors are compared too: same tasks, strategies and answers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_collect(executor: str, n: int, strategies: str, model: str | None, tmp: Path) -> dict:
    db = f"sqlite:///{tmp / f'{executor}-{n}.db'}"
    cmd = [sys.executable, "-m", "controller.cli", "collect", "heldout", "--kind", "text", "--n-per-family", "1",
           "--limit", str(n), "--strategies", strategies, "--db", db, "--quiet", "--executor", executor]
    if model:
        cmd += ["--model", model]
    if executor == "ray":
        cmd += ["--num-cpus", str(os.cpu_count() or 1)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    from policies.outcomes import OutcomeLog
    with OutcomeLog(db) as log:
        rows = log.rows()
    answers = sorted((r["task_name"], r["strategy"], json.dumps(r["attempts"])) for r in rows)
    return {"executor": executor, "tasks": n, "wall_s": wall, "rows": len(rows), "answers": answers}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="results JSON, e.g. eval/results/executors.json")
    ap.add_argument("--tasks", default="2,4", help="comma-separated task counts (default 2,4)")
    ap.add_argument("--strategies", default="icl", help="strategies per task (default icl)")
    ap.add_argument("--model", default=None, help="collect --model (default: the embedded model)")
    args = ap.parse_args(argv)
    counts = [int(x) for x in args.tasks.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-executors-"))
    points = []
    for n in counts:
        for executor in ("local", "ray"):
            p = run_collect(executor, n, args.strategies, args.model, tmp)
            print(f"{executor:5s} {n} tasks: {p['wall_s']:.1f} s, {p['rows']} rows", file=sys.stderr, flush=True)
            points.append(p)
    same = {n: [p["answers"] for p in points if p["tasks"] == n] for n in counts}
    out = {"command": " ".join([Path(sys.executable).name, "-m", "eval.bench_executors", *(argv or sys.argv[1:])]),
           "cpus": os.cpu_count(), "strategies": args.strategies,
           "points": [{k: v for k, v in p.items() if k != "answers"} for p in points],
           "same_rows_and_answers": {str(n): len(a) == 2 and a[0] == a[1] for n, a in same.items()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
