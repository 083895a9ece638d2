"""The assistant's reply text: the answer first, then the route, its reason, the confidence and the cost."""
from __future__ import annotations

import json
from typing import Any


def show_value(value: Any) -> str:
    """A grid as JSON, one row per line (readable, and pastes back as a follow-up); text as itself."""
    if isinstance(value, list):
        return "[" + ",\n ".join(json.dumps(row, separators=(",", ":")) for row in value) + "]"
    return str(value)


def show_cost(cost: dict[str, Any]) -> str:
    parts = [f"{cost.get('wall_s', 0.0):.1f} s"]
    if cost.get("tokens_trained"):
        parts.append(f"{cost['tokens_trained']:,} tokens trained")
    parts.append(f"{cost.get('tokens_in', 0) + cost.get('tokens_out', 0):,} tokens inferred")
    parts.append(f"{cost.get('flops', 0.0):.2g} FLOPs")
    return ", ".join(parts)


def progress_text(stage: str, info: dict[str, Any]) -> str:
    """One line for a progress event: `training 40/120 steps (loss 1.23)`, `voting`, ..."""
    if stage == "training" and "step" in info:
        loss = f" (loss {info['loss']:.3g})" if isinstance(info.get("loss"), (int, float)) else ""
        return f"training {info['step']}/{info.get('of', '?')} steps{loss}"
    if stage == "routed":
        return f"route: {info.get('strategy')} ({info.get('reason', '')})"
    return stage


def format_reply(kind: str, result: dict[str, Any], strategy: str, reason: str, note: str = "",
                 features_cost: dict[str, Any] | None = None) -> str:
    attempts = result.get("attempts") or []
    lines = []
    for i, tries in enumerate(attempts):
        label = f"Answer {i + 1}" if len(attempts) > 1 else "Answer"
        if not tries:
            lines.append(f"{label}: none (the model's output did not parse as a {kind} answer)")
            continue
        for k, value in enumerate(tries):
            head = label if k == 0 else f"{label}, second attempt"
            lines.append(f"{head}:\n```\n{show_value(value)}\n```" if kind == "grid" else f"{head}: {value}")
    lines.append("")
    lines.append(f"Route: {strategy} ({reason})" if reason else f"Route: {strategy}")
    cost = f"Cost: {show_cost(result.get('cost') or {})}"
    if features_cost and features_cost.get("wall_s", 0.0) >= 0.05:
        cost += f"; deciding the route: {features_cost['wall_s']:.1f} s"
    lines.append(f"Confidence: {result.get('confidence', 0.0):.2f}. {cost}.")
    if (result.get("info") or {}).get("cache_hit"):
        lines.append("Reused the adapter trained earlier on these examples (no training this time).")
    if note:
        lines.insert(0, f"({note})")
    return "\n".join(lines)


def cut_to_tokens(text: str, limit: int | None, tokenizer: Any) -> tuple[str, bool]:
    """The reply cut to at most `limit` tokens of the model's tokenizer, as OpenAI's `max_tokens` cuts a
    completion, and whether it was cut. The cut falls where a token starts, so the text is a prefix."""
    if limit is None or not text:
        return text, False
    spans = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(spans) <= limit:
        return text, False
    return text[:spans[limit][0]], True
