"""What one turn brings in (InputState) and what a thread remembers between turns (State)."""
from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict   # pydantic builds JSON schemas only from this one on Python < 3.12

# Everything here is plain JSON (dicts, lists, str, numbers), so any checkpointer stores it and a
# thread reads back the same after a restart.


class InputState(TypedDict, total=False):
    message: str            # the user's chat message: a task, a follow-up, `use NAME`, or anything else
    task_input: dict[str, Any] | None   # or a task as data (ARC-shaped JSON, `name` included): `tttc ask` and
                                        # /v1/solve hand it over as it is; validated, never read from chat text
    strategy: str | None    # this turn only: "auto" (the router) or a registered name; None: the thread's choice
    earlier: list[str]      # earlier user messages, replayed when the thread has no task yet
                            # (an OpenAI-style client resends its history instead of naming a thread)


class State(InputState, total=False):
    # kept across turns
    task: dict[str, Any] | None     # the thread's task: Task.model_dump(mode="json")
    pinned: str | None              # the strategy chosen in chat with `use NAME` ("auto": the router)
    routed: dict[str, Any] | None   # the router's last choice in this thread: {"demos": key, "strategy": name}
    # this turn's work; the parse node resets all of it
    note: str                       # what the message changed ("new grid task: 3 examples, 1 query")
    features: dict[str, Any] | None # {"values", "cost", "costs": per feature, "icl": probe answers for plain ICL}
    choice: str | None              # the strategy to run
    forced: bool                    # chosen by the user rather than the router
    reason: str                     # one line: why this strategy
    decide_s: float                 # seconds spent deciding (featurize and route), counted in the result's cost
    result: dict[str, Any] | None   # strategies.base.Result.model_dump(mode="json")
    reply: str                      # the assistant's answer text
    query_id: str | None            # the outcome-log row of this turn, for feedback


TURN_RESET: dict[str, Any] = {"note": "", "features": None, "choice": None, "forced": False, "reason": "", "decide_s": 0.0,
                              "result": None, "reply": "", "query_id": None}
