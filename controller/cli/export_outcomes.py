"""`tttc export-outcomes --db URL FILE.jsonl`: write an outcome log as JSONL (one row per line), the compact
form to commit beside a collect, and its feature costs beside it as FILE.feature-costs.jsonl."""
from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("out", metavar="FILE", help="where to write the rows, e.g. eval/data/outcomes-heldout.jsonl")
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL (default $TTTC_DB, then sqlite:///tttc.db)")
    p.add_argument("--skip-tasks-in", nargs="+", default=[], metavar="OLD",
                   help="leave out the tasks (by task hash) of these earlier exports: a resumed collect's "
                        "new rows only")


def run(args) -> int:
    from policies.outcomes import OutcomeLog, check_exists, read_jsonl
    from policies.outcomes import costs_path
    out = Path(args.out)
    if not out.name.endswith(".jsonl"):
        print(f"tttc export-outcomes: {out}: the file name must end in .jsonl", file=sys.stderr)
        return 1
    try:
        check_exists(args.db)
    except ValueError as e:
        print(f"tttc export-outcomes: {e}", file=sys.stderr)
        return 1
    skip: set[str] = set()
    for old in args.skip_tasks_in:
        try:
            skip |= set(read_jsonl(old, lambda d: str(d["task_hash"]), "an outcome row with a task_hash"))
        except (OSError, ValueError) as e:
            print(f"tttc export-outcomes: --skip-tasks-in {old}: {e}", file=sys.stderr)
            return 1
    with OutcomeLog(args.db) as log:
        n = log.export_jsonl(out, skip)
        side = costs_path(out)
        k = log.feature_costs.export_jsonl(side, skip)
    left = f" ({len(skip)} earlier tasks left out)" if skip else ""
    print(f"{n} rows -> {out}; {k} feature costs -> {side}{left}")
    return 0
