"""`tttc import-outcomes FILE.jsonl --db URL`: load committed outcomes into a log, so the router and every
figure can be rebuilt without re-running TTT."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="JSONL files written by OutcomeLog.export_jsonl")
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL (default $TTTC_DB, then sqlite:///tttc.db)")


def run(args) -> int:
    from controller.log import OutcomeLog
    log = OutcomeLog(args.db)
    for path in args.files:
        try:
            added = log.import_jsonl(path)
        except (OSError, ValueError) as e:
            print(f"tttc import-outcomes: {e}", file=sys.stderr)
            return 1
        print(f"{path}: {added} rows added to {log.url}")
    return 0
