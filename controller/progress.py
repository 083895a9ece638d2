"""A progress bar (rich) over a long run's items, drawn only on a terminal; lines printed meanwhile go above it."""
from __future__ import annotations

import atexit
import sys
from typing import Any, TextIO


class Bar:
    """`update()` after each item, `describe(name)` for the one running; `write(line)` prints a line
    (above the bar when it is drawn). Off (`live=False`: piped output, --json), it draws nothing and
    `write` just prints. The same calls as a tqdm bar, so eval.collect can take either."""

    def __init__(self, total: int, label: str, live: bool | None = None):
        self.live = sys.stdout.isatty() if live is None else live
        self._progress: Any = None
        if self.live and total > 0:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeElapsedColumn)
            # the spinner and the clock move while one item takes minutes (a TTT run): the run is alive
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
            self._task = self._progress.add_task(label, total=total)
            self._label = label
            self._progress.start()
            atexit.register(self.close)   # an error mid-run must not leave the terminal's cursor hidden

    def describe(self, item: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=f"{self._label}: {item}")

    def update(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def write(self, text: str, file: TextIO | None = None) -> None:
        out = file or sys.stdout
        if self._progress is not None:   # through rich, so that the line lands above the bar
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True,
                                         style=None, emoji=False)
            return
        print(text, file=out, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
