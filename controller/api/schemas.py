"""The API's request bodies and the OpenAI-shaped responses built from a thread's state."""
from __future__ import annotations

import math
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Plain text; OpenAI content parts (`[{"type": "text", "text": ...}]`) are joined."""
        if isinstance(self.content, list):
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI chat-completion request; sampling fields (temperature, ...) are accepted and ignored:
    answers are greedy."""
    model_config = ConfigDict(extra="allow")
    model: str = Field("auto", description="`auto` (the router) or a strategy name from /v1/strategies")
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    thread_id: str | None = Field(None, max_length=200, description=(
        "continue this thread (its task is kept server-side, so follow-ups and adapter reuse work); "
        "without it the request is one-off and earlier user messages are replayed to rebuild the task"))
    timeout_s: float | None = Field(None, gt=0, description="give up (and stop training) after this long; "
                                                            "capped by the server's --timeout")

    def user_turns(self) -> tuple[str | None, list[str]]:
        """(the last user message or None, the user messages before it)."""
        users = [m.text() for m in self.messages if m.role == "user"]
        return (users[-1] if users else None), users[:-1]


class SolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: dict[str, Any] = Field(..., description='ARC-format task: {"train": [{"input", "output"}], "test": [{"input"}]}')
    strategy: str = Field("auto", description="`auto` (the router) or a strategy name")
    thread_id: str | None = Field(None, max_length=200, description="keep the task on this thread for chat follow-ups")
    timeout_s: float | None = Field(None, gt=0)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query_id: str = Field(..., min_length=1, max_length=64, description="`tttc.query_id` of an answer")
    correct: bool


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
    """The `tttc` field: what ran, why, how sure, what it cost, and the id to send feedback on."""
    result = state.get("result") or {}
    meta: dict[str, Any] = {"thread_id": thread_id, "note": state.get("note", "")}
    if result:
        meta.update(strategy=result.get("strategy"), reason=state.get("reason", ""), forced=state.get("forced", False),
                    confidence=result.get("confidence"), attempts=result.get("attempts"), cost=result.get("cost"),
                    cache_hit=bool((result.get("info") or {}).get("cache_hit")), query_id=state.get("query_id"))
    else:
        meta.update(strategy=None, query_id=None)
    return meta


def completion(cid: str, model: str, state: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    cost = (state.get("result") or {}).get("cost") or {}
    prompt, generated = cost.get("tokens_in", 0), cost.get("tokens_out", 0)
    return finite({
        "id": cid, "object": "chat.completion", "created": int(time.time()), "model": meta.get("strategy") or model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": state.get("reply", "")},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": generated, "total_tokens": prompt + generated},
        "tttc": meta})


def chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None,
          tttc: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if tttc is not None:
        out["tttc"] = tttc
    return out
