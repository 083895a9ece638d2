"""`tttc import-outcomes FILE.jsonl --db URL`: load committed outcomes into a log, so the router and every
figure can be rebuilt without re-running TTT. The feature costs exported beside a file
(`FILE.feature-costs.jsonl`, see `tttc export-outcomes`) come with it."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="JSONL files written by `tttc export-outcomes`")
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL (default $TTTC_DB, then sqlite:///tttc.db)")


def run(args) -> int:
    from policies.outcomes import OutcomeLog
    from policies.outcomes import COSTS_SUFFIX, costs_path
    log = OutcomeLog(args.db)
    named = {str(p) for p in args.files if str(p).endswith(COSTS_SUFFIX)}   # e.g. by a glob over eval/data/*.jsonl
    for path in args.files:
        try:
            if str(path) in named:
                print(f"{path}: {log.feature_costs.import_jsonl(path)} feature costs imported")
                continue
            added = log.import_jsonl(path)
            side = costs_path(path)
            costs = log.feature_costs.import_jsonl(side) if side.exists() and str(side) not in named else None
        except (OSError, ValueError) as e:
            print(f"tttc import-outcomes: {e}", file=sys.stderr)
            return 1
        extra = f" (and {costs} feature costs from {side})" if costs is not None else ""
        print(f"{path}: {added} rows added to {log.url}{extra}")
    return 0
