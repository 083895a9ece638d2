"""The API's request and response bodies (OpenAI's shapes where OpenAI has one), and the builders of its replies."""
from __future__ import annotations

import math
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from strategies.task_schema import task_schema

# Requests are strict: a value of the wrong JSON type (`"stream": 0`) is refused, as the schema says.
OPEN = ConfigDict(extra="allow", strict=True)     # OpenAI's other fields (temperature, ...) are accepted, ignored
CLOSED = ConfigDict(extra="forbid", strict=True)


USER = {"type": "object", "properties": {"role": {"const": "user"}}, "required": ["role"]}


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, Field(ge=1), BeforeValidator(_integral)]   # JSON Schema's integer: 5.0 is one too
Demos = Annotated[int, Field(ge=1, le=32), BeforeValidator(_integral)]
Whole = Annotated[int, BeforeValidator(_integral)]


# -- requests ---------------------------------------------------------------------------------------

class ChatMessage(BaseModel):
    model_config = OPEN
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Plain text; OpenAI content parts (`[{"type": "text", "text": ...}]`) are joined."""
        if isinstance(self.content, list):
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = OPEN
    include_usage: bool = Field(False, description="one more chunk before [DONE]: `usage`, and empty `choices`")


class ChatRequest(BaseModel):
    """OpenAI chat-completion request; sampling fields (temperature, ...) are accepted and ignored:
    answers are greedy."""
    model_config = OPEN
    model: str = Field("auto", description="`auto` (the router) or a strategy name from /v1/models; "
                                           "another name is 404 `model_not_found`")
    messages: list[ChatMessage] = Field(..., min_length=1, json_schema_extra={"contains": USER},
                                        description="at least one message with role `user`; the last one is answered")
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Count | None = Field(None, description="cut the reply to this many tokens of the model's "
                                                           "tokenizer (`finish_reason` is then `length`)")
    max_completion_tokens: Count | None = Field(None, description="the newer name of `max_tokens`")
    thread_id: str | None = Field(None, max_length=200, description=(
        "continue this thread (its task is kept server-side, so follow-ups and adapter reuse work); "
        "without it the request is one-off and earlier user messages are replayed to rebuild the task"))
    timeout_s: float | None = Field(None, ge=1, description="give up (and stop training) after this long; "
                                                            "capped by the server's --timeout")

    @field_validator("messages")
    @classmethod
    def _has_a_user_message(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" for m in messages):
            raise ValueError("no message with role 'user'")
        return messages

    def user_turns(self) -> tuple[str, list[str]]:
        """(the last user message, the user messages before it)."""
        users = [m.text() for m in self.messages if m.role == "user"]
        return users[-1], users[:-1]

    def token_limit(self) -> int | None:
        limits = [n for n in (self.max_tokens, self.max_completion_tokens) if n is not None]
        return min(limits) if limits else None


class SolveRequest(BaseModel):
    model_config = CLOSED
    task: Annotated[dict[str, Any], WithJsonSchema(task_schema())]
    strategy: str = Field("auto", description="`auto` (the router) or a strategy name; another is 404")
    thread_id: str | None = Field(None, max_length=200, description="keep the task on this thread for chat follow-ups")
    timeout_s: float | None = Field(None, ge=1)
    demos: Demos | None = Field(None, description="BIG-bench task: demonstrations drawn from its examples "
                                                             "(default 10; at most all examples but one)")
    queries: Count | None = Field(None, description="BIG-bench task: queries after them (default: the rest)")
    seed: Whole = Field(0, description="BIG-bench task: seed of the draw")


class FeedbackRequest(BaseModel):
    model_config = CLOSED
    query_id: str = Field(..., min_length=1, max_length=64, description="`tttc.query_id` of an answer")
    correct: bool


# -- responses --------------------------------------------------------------------------------------

class TurnMeta(BaseModel):
    """The `tttc` field: what ran, why, how sure, what it cost, and the id to send feedback on."""
    thread_id: str
    note: str
    strategy: str | None
    query_id: str | None
    reason: str | None = None
    forced: bool | None = None
    confidence: float | None = None
    attempts: list[list[Any]] | None = None
    cost: dict[str, Any] | None = None
    cache_hit: bool | None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str = Field(description="the strategy that answered (or the one asked for, when none ran)")
    choices: list[Choice]
    usage: Usage
    tttc: TurnMeta


class Solved(BaseModel):
    """One answered task, as `tttc ask --json` prints it, plus the route and the features."""
    task: str
    strategy: str
    attempts: list[list[Any]]
    correct: bool | None
    cost: dict[str, Any]
    confidence: float | None
    route: str
    forced: bool
    features: dict[str, float | None]
    query_id: str | None
    thread_id: str


class Feedback(BaseModel):
    query_id: str
    correct: bool


class StrategyInfo(BaseModel):
    name: str
    kind: str
    help: str
    typical_cost: str


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class ThreadView(BaseModel):
    thread_id: str
    task: dict[str, Any] | None
    pinned: str | None
    last: TurnMeta


class Health(BaseModel):
    status: Literal["ok"]
    model: str | None
    queued: int
    capacity: int
    running: bool


SSE = {"text/event-stream": {"schema": {  # one event (OpenAPI 3.1 reads an event stream's schema so)
    "type": "object", "required": ["data"], "properties": {"event": {"type": "string"}, "data": {
        "type": "string", "description": (
            "with `stream`: chat.completion.chunk objects as JSON (progress in `delta.reasoning_content`, "
            "the reply in `delta.content`, `finish_reason` in the last), a usage chunk with `stream_options."
            "include_usage`, an `error` object if the run fails, then `[DONE]`")}}}}}


# -- building replies -------------------------------------------------------------------------------

def finite(obj: Any) -> Any:
    """NaN and infinities (a feature that could not be computed) become null: JSON has no NaN."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def turn_meta(state: dict[str, Any], thread_id: str) -> dict[str, Any]:
    result = state.get("result") or {}
    meta: dict[str, Any] = {"thread_id": thread_id, "note": state.get("note", "")}
    if result:
        meta.update(strategy=result.get("strategy"), reason=state.get("reason", ""), forced=state.get("forced", False),
                    confidence=result.get("confidence"), attempts=result.get("attempts"), cost=result.get("cost"),
                    cache_hit=bool((result.get("info") or {}).get("cache_hit")), query_id=state.get("query_id"))
    else:
        meta.update(strategy=None, query_id=None)
    return meta


def usage(state: dict[str, Any]) -> dict[str, int]:
    """What the answer cost in tokens: the prompts read and the tokens generated (all attempts)."""
    cost = (state.get("result") or {}).get("cost") or {}
    prompt, generated = cost.get("tokens_in", 0), cost.get("tokens_out", 0)
    return {"prompt_tokens": prompt, "completion_tokens": generated, "total_tokens": prompt + generated}


def completion(cid: str, model: str, state: dict[str, Any], meta: dict[str, Any], reply: str,
               finish: str) -> dict[str, Any]:
    return finite({
        "id": cid, "object": "chat.completion", "created": int(time.time()), "model": meta.get("strategy") or model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": finish}],
        "usage": usage(state), "tttc": meta})


def chunk(cid: str, model: str, delta: dict[str, Any] | None, finish: str | None = None,
          tttc: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A chat.completion.chunk; `delta=None` gives the usage chunk's empty `choices`."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    out: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                           "choices": choices, **extra}
    if tttc is not None:
        out["tttc"] = tttc
    return out
