"""`tttc report`: cost-vs-accuracy report (Markdown, self-contained HTML, PNGs) from the outcome log."""
from __future__ import annotations

import shlex
import sys


def add_arguments(p) -> None:
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL or SQLite file (default $TTTC_DB, then sqlite:///tttc.db)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for report.md, report.html and the PNG figures")
    p.add_argument("--suite", default=None, help="only the outcomes of this evaluation suite")
    p.add_argument("--router", default=None, metavar="DIR",
                   help="a learned router (its folder or JSON file) to sweep; default: policies/shipped/ when present")
    p.add_argument("--model", default=None, help="model id, when the log holds outcomes of several models")


def db_url(db: str | None) -> str:
    """A URL as given; a plain path means a SQLite file."""
    from strategies.settings import settings
    db = settings().outcome_db(db)
    return db if "://" in db else f"sqlite:///{db}"


def command_line(args) -> str:
    """The command that made the report, rebuilt from its arguments (exact, whatever launched it)."""
    argv = ["tttc", "report", "--db", db_url(args.db), "--out", args.out]
    for flag in ("suite", "router", "model"):
        if getattr(args, flag) is not None:
            argv += [f"--{flag}", str(getattr(args, flag))]
    return shlex.join(argv)


def run(args) -> int:
    from eval.report.build import build_report
    from eval.report.data import ReportError

    try:
        written = build_report(db_url(args.db), args.out, suite=args.suite, router=args.router,
                               model_id=args.model, command=command_line(args))
    except ReportError as e:
        print(f"tttc report: {e}", file=sys.stderr)
        return 1
    print("\n".join(line.replace("**", "").replace("`", "") for line in written.headline))
    print(f"wrote {written.markdown} and {written.html}"
          + (f" (+ {', '.join(p.name for p in written.figures)})" if written.figures else ""))
    return 0
