"""What the terminal shows: this project's warnings as one line each; library warnings only in a debug log."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

OURS = ("controller", "strategies", "policies", "eval")   # loggers whose warnings the user must see
DEBUG_LOG = "tttc-debug.log"   # in the model cache folder unless $TTTC_DEBUG_LOG names a file


class _Ours(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] in OURS


class _Stderr(logging.StreamHandler):
    """One line per record, `tttc: warning: ...`, on whatever sys.stderr is at the time (tests swap it)."""

    def __init__(self, prog: str):
        super().__init__(sys.stderr)
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.prog}: {record.levelname.lower()}: {record.getMessage()}"

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def debug_log_path() -> Path:
    from strategies.runtime.models import cache_root
    from strategies.settings import settings
    return settings().debug_log or cache_root() / DEBUG_LOG


def setup(prog: str = "tttc") -> None:
    """Route Python warnings (transformers' FutureWarnings, ...) through `logging`; everything at WARNING
    and above goes to the debug log, and only this project's records reach stderr, as `prog: warning: ...`.
    With $TTTC_DEBUG set, library warnings reach stderr too. Safe to call twice."""
    logging.captureWarnings(True)
    root = logging.getLogger()
    if any(getattr(h, "_tttc", False) for h in root.handlers):
        return
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    terminal = _Stderr(prog)
    terminal.setLevel(logging.WARNING)
    if not _debug():
        terminal.addFilter(_Ours())
    handlers: list[logging.Handler] = [terminal]
    try:
        path = debug_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        debug = logging.FileHandler(path, delay=True, encoding="utf-8")   # delay: no file until a record comes
        debug.setLevel(logging.WARNING)
        debug.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
        handlers.append(debug)
    except OSError:   # an unwritable cache: library warnings are dropped rather than shown
        pass
    for h in handlers:
        h._tttc = True   # type: ignore[attr-defined]
        root.addHandler(h)


def adopt_transformers() -> None:
    """After setup(): transformers' log records join the rest (debug log, not stderr). transformers keeps
    its own stderr handler and does not propagate, so this is called where a model loads (it imports
    transformers, which loading does anyway)."""
    if not any(getattr(h, "_tttc", False) for h in logging.getLogger().handlers):
        return   # no setup(): a library user's logging is theirs
    from transformers.utils import logging as hf_logging
    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()


def _debug() -> bool:
    """TTTC_DEBUG, read leniently: a bad value must not break the console set-up (the setting's own
    error is reported where settings are read)."""
    try:
        from strategies.settings import settings
        return settings().debug
    except ValueError:
        return bool(os.environ.get("TTTC_DEBUG"))
