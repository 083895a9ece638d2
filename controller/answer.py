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
    """`db` names the outcome log; without it nothing is logged (callers that log themselves pass none)."""

    def __init__(self, model: str | None = None, db: str | None = None):
        self.model_name, self.db_url = model, db

    @cached_property
    def runtime(self):
        from strategies.runtime.loaded import load_runtime
        return load_runtime(self.model_name)

    @cached_property
    def outcomes(self):
        from policies.outcomes import OutcomeLog
        return OutcomeLog(self.db_url) if self.db_url else None

    def answer(self, task: Task, strategy: str = "icl", progress=None) -> Answered:
        from strategies.base import no_progress
        from strategies.registry import get_strategy
        reason = ""
        if strategy == "auto":
            from policies.decide import route
            strategy, reason = route(task, self.runtime)
        result = get_strategy(strategy).run(task, self.runtime, progress or no_progress)
        query_id = None
        if self.outcomes is not None:
            from policies.outcomes import OutcomeRow
            # route_reason marks a routing decision; a strategy the user named is not one
            query_id = self.outcomes.append(OutcomeRow.from_result(task, result, self.runtime.model_id,
                                                                   route_reason=reason or None))
        return Answered(result, reason, query_id)
