"""The Python API: `solve(task)` and `Controller(...).solve(task)`, the same graph run as `tttc ask` and the HTTP API."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from strategies.base import Result
from strategies.cost import Cost
from strategies.task import Task, Value

TaskLike = Union[Task, dict, str, Path]


@dataclass(frozen=True)
class Answer:
    """What the controller answered for one task, why, how sure, and what it cost."""
    task: str                       # the task's name
    answers: list[Value | None]     # the best attempt for each test input, in order (None: no valid answer)
    attempts: list[list[Value]]     # every attempt (at most two) for each test input, best first
    strategy: str                   # the strategy that answered
    reason: str                     # why that strategy: the router's (or default rule's) line, or "chosen by the user"
    forced: bool                    # the caller named the strategy; the router did not choose
    confidence: float               # in [0, 1], the strategy's own
    cost: Cost                      # wall seconds, tokens in/out/trained, FLOPs; deciding included
    model: str                      # the runtime's model id (`gemma3-270m+gemma3-270m-adapt`: model + adapter)
    adapter: str | None = None      # the adaptation adapter merged into the model at load, if any
    correct: bool | None = None     # exact match against the task's test outputs, when it has them
    query_id: str | None = None     # the outcome-log row, when a log is configured
    info: dict[str, Any] = field(default_factory=dict)   # strategy extras (vote shares, adapter-cache hit, ...)


def as_task(task: TaskLike, sampling: Any = None) -> Task:
    """A Task from a Task, ARC-shaped JSON data (a dict), or a task file's path (ARC-shaped or BIG-bench,
    drawn as `sampling` says); a bad one is a strategies.task.TaskError naming the place."""
    from strategies.task import load_task, task_from_obj
    if isinstance(task, Task):
        return task
    if isinstance(task, dict):
        return task_from_obj(task, str(task.get("name", "task")))
    if isinstance(task, (str, Path)):
        return load_task(task, sampling)
    raise TypeError(f"solve: expected a Task, a dict or a path, got {type(task).__name__}")


class Controller:
    """One model (loaded on first use, then kept) and the choices that stay the same across tasks.

    `strategy` "auto" lets the router choose; a registered name (`tttc strategies`) forces it. `db` is an
    outcome-log URL (None: $TTTC_DB, and nothing is logged when neither is set). `runtime` passes an
    already-loaded model runtime instead of `model`."""

    def __init__(self, model: str | None = None, strategy: str = "auto", db: str | None = None,
                 runtime: Any = None):
        from controller.context import Context, add_runtime
        self.strategy = strategy
        if runtime is not None:   # the graph's context is plain data: the runtime is found by name
            model = add_runtime(runtime, model)
        self.context = Context(model=model, db=db)

    def solve(self, task: TaskLike, strategy: str | None = None) -> Answer:
        """Answer one task through the compiled graph (parse, featurize, route, answer, log)."""
        from controller.graph import graph
        from controller.threads import run_turn
        from strategies.task import score

        task = as_task(task)
        state = run_turn(graph, None, None, self.context, strategy=strategy or self.strategy,
                         task_input={**task.to_json(), "name": task.name})
        if not state.get("result"):
            raise RuntimeError(f"{task.name}: no answer: {state.get('reply', '')[:200]}")
        result = Result.model_validate(state["result"])
        runtime = self.context.get_runtime()
        return Answer(task=task.name, answers=[a[0] if a else None for a in result.attempts], attempts=result.attempts,
                      strategy=result.strategy,
                      reason=state.get("reason", ""), forced=bool(state.get("forced")),
                      confidence=result.confidence, cost=result.cost, model=runtime.model_id,
                      adapter=getattr(runtime, "adapter", None), correct=score(task, result.prediction()),
                      query_id=state.get("query_id"), info=dict(result.info))


def solve(task: TaskLike, strategy: str = "auto", model: str | None = None, db: str | None = None) -> Answer:
    """Answer one task with the default (or given) model: `solve({"train": [...], "test": [...]})`."""
    return Controller(model=model, strategy=strategy, db=db).solve(task)
