"""One answered query: load the model once, pick the strategy (given, or routed), run it, log the outcome."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from strategies.base import Result
from strategies.task import Task


@dataclass
class Answered:
    result: Result
    route_reason: str = ""
    query_id: str | None = None


class Answerer:
    def __init__(self, model: str | None = None, db: str | None = None, device: str | None = None):
        self.model_name, self.db_url, self.device = model, db, device

    @cached_property
    def runtime(self):
        from strategies.runtime import Runtime
        return Runtime.load(self.model_name, device=self.device)

    def answer(self, task: Task, strategy: str = "icl", progress=None) -> Answered:
        from strategies.base import no_progress
        from strategies.library import get_strategy
        reason = ""
        if strategy == "auto":
            from policies.route import route
            strategy, reason = route(task, self.runtime)
        result = get_strategy(strategy).run(task, self.runtime, progress or no_progress)
        return Answered(result, reason)
