"""One worker thread runs model jobs in order from a bounded queue; a full queue refuses at once."""
from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable


class Busy(Exception):
    """The queue is full; try again in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"the server is busy; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job:
    fn: Callable[["Job"], Any]
    on_event: Callable[[dict[str, Any]], None] | None = None   # called on the worker thread
    future: Future = field(default_factory=Future)
    stop: threading.Event = field(default_factory=threading.Event)

    def should_stop(self) -> bool:
        return self.stop.is_set()

    def emit(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event)


class Worker:
    """The model is one shared object (TTT attaches adapters to it), so jobs run one at a time."""

    def __init__(self, queue_size: int = 4):
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._durations: deque[float] = deque(maxlen=20)
        self.running: Job | None = None
        self._thread = threading.Thread(target=self._loop, name="tttc-worker", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Job], Any], on_event: Callable[[dict[str, Any]], None] | None = None) -> Job:
        job = Job(fn, on_event)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Busy(self.retry_after()) from None
        return job

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the recent mean job time times the jobs ahead."""
        mean = sum(self._durations) / len(self._durations) if self._durations else 5.0
        return max(1, min(600, math.ceil(mean * (self._queue.qsize() + 1))))

    def stats(self) -> dict[str, Any]:
        return {"queued": self._queue.qsize(), "capacity": self._queue.maxsize, "running": self.running is not None}

    def close(self, timeout: float = 5.0) -> None:
        """Stop the running job, drop the queued ones, and end the thread."""
        if self.running is not None:
            self.running.stop.set()
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.future.cancel()
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            if job.stop.is_set():
                job.future.cancel()
            if not job.future.set_running_or_notify_cancel():
                continue   # cancelled while it waited
            self.running, start = job, time.monotonic()
            try:
                job.future.set_result(job.fn(job))
            except BaseException as e:  # the waiting request turns it into a response
                job.future.set_exception(e)
            finally:
                self.running = None
                self._durations.append(time.monotonic() - start)
