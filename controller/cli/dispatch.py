"""`tttc`: the command line. Each subcommand is a file beside this one, imported only when named."""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help); modules must not import torch at import time
COMMANDS: dict[str, tuple[str, str]] = {
    "ask": ("controller.cli.ask", "answer task files with a strategy (or the router: --strategy auto)"),
    "strategies": ("controller.cli.strategies", "list the strategy library with settings and typical cost"),
    "adapt": ("controller.cli.adapt", "train the adaptation adapter on the adapt families"),
    "serve": ("controller.cli.serve", "serve the agent API (OpenAI-compatible chat, /v1/solve, feedback)"),
    "chat": ("controller.cli.chat", "chat with the agent in the terminal: tasks, follow-ups, routing shown"),
    "collect": ("controller.cli.collect", "run strategies on tasks and log scored outcomes with features (resumable)"),
    "train-router": ("controller.cli.train_router", "fit the router and cost model on the outcome log, calibrate to a budget, ship"),
    "import-outcomes": ("controller.cli.import_outcomes", "load committed outcome rows (JSONL) into an outcome log"),
    "export-outcomes": ("controller.cli.export_outcomes", "write an outcome log as JSONL (with its feature costs), to commit"),
    "report": ("controller.cli.report", "cost-vs-accuracy report (Markdown + HTML + PNGs) from the outcome log"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tttc", description="Route few-shot tasks to in-context learning or test-time training.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from controller import console
    console.setup()   # library warnings to the debug log, not between the command's lines
    try:
        return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one line, never a traceback; TTTC_DEBUG=1 shows it
        if _debug():
            raise
        print(f"tttc {args.command}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


def _debug() -> bool:
    """TTTC_DEBUG=1 shows tracebacks (a bad setting elsewhere must not hide the error being reported)."""
    from strategies.settings import settings
    try:
        return settings().debug
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
