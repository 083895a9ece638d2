"""Prompt format: one function renders a few-shot prompt; its inverse parses an answer back.

Grids are written one digit per cell and one newline per row, which SmolLM2's tokenizer encodes
as one token each (the ARChitects' one-token-per-cell idea without changing the vocabulary).
A user whose tokenizer merges digits can register another format under a new name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from .task import MAX_GRID_SIDE as MAX_SIDE, Grid, Kind, Value

END = "\n\n"  # ends every answer; generation stops when it appears


def _grid_text(grid: Grid) -> str:
    return "\n".join("".join(str(c) for c in row) for row in grid)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def render_value(value: Value, kind: Kind) -> str:
    return _grid_text(value) if kind == "grid" else _escape(value)  # type: ignore[arg-type]


def compact(demos: Sequence[tuple[Value, Value]], query: Value, kind: Kind) -> str:
    """The default format. Grids: `in\\n<rows>\\nout\\n<rows>\\n\\n`; text: `in: x\\nout: y\\n\\n`.

    Returns the prompt up to where the answer starts (ending in `out:`); the answer is `render_answer(output)`.
    """
    sep = _sep(kind)
    parts = [f"in:{sep}{render_value(i, kind)}\nout:{render_answer(o, kind)}" for i, o in demos]
    parts.append(f"in:{sep}{render_value(query, kind)}\nout:")
    return "".join(parts)


def _sep(kind: Kind) -> str:
    return "\n" if kind == "grid" else " "


def render_answer(value: Value, kind: Kind) -> str:
    """The answer text that follows the prompt. It starts with the separator, so that the prompt never
    ends in a space (BPE tokenizers glue a leading space to the next word)."""
    return _sep(kind) + render_value(value, kind) + END


def parse_answer(text: str, kind: Kind) -> Value | None:
    """Invert `render_answer` on generated text; None when it is not a well-formed answer."""
    body = text.split(END, 1)[0]
    if kind == "text":
        body = body[1:] if body.startswith(" ") else body
        return _unescape(body) if body.strip() else None
    rows = body.strip("\n").split("\n")
    if not rows or not all(r.isdigit() for r in rows) or len({len(r) for r in rows}) != 1:
        return None
    if len(rows) > MAX_SIDE or len(rows[0]) > MAX_SIDE:
        return None
    return [[int(c) for c in r] for r in rows]


def is_complete(text: str, kind: Kind) -> bool:
    """True once generated text holds a whole answer (or a grid answer has gone off the rails)."""
    if END in text:
        return True
    if kind == "grid":
        # a grid answer is digits and newlines only; anything else means it is over
        return any(not (ch.isdigit() or ch == "\n") for ch in text) or _grid_derailed(text)
    return False


def _grid_derailed(text: str) -> bool:
    """True when no continuation of `text` (digits and newlines, no END yet) can parse as a grid:
    a finished row of another width than the first, a row growing past the first row's width or past
    MAX_SIDE cells, or more than MAX_SIDE finished rows. `parse_answer` would reject every such answer,
    so stopping its decode early changes no parsed answer; it only saves the steps (a model stuck
    repeating one cell otherwise runs to its token cap)."""
    *done, current = text.lstrip("\n").split("\n")
    width = len(done[0]) if done else MAX_SIDE
    return (len(done) > MAX_SIDE or len(current) > width or any(len(row) != width for row in done))


PromptFn = Callable[[Sequence[tuple[Value, Value]], Value, Kind], str]
FORMATS: dict[str, PromptFn] = {"compact": compact}


def get_format(name: str) -> PromptFn:
    if name not in FORMATS:
        raise KeyError(f"unknown prompt format {name!r}; known: {sorted(FORMATS)}")
    return FORMATS[name]


@dataclass(frozen=True)
class Rendered:
    """A prompt and (when known) its answer text, ready to tokenize separately and concatenate."""
    prompt: str
    answer: str | None


def render(demos: Sequence[tuple[Value, Value]], query: Value, kind: Kind,
           answer: Value | None = None, fmt: str = "compact") -> Rendered:
    return Rendered(get_format(fmt)(demos, query, kind), None if answer is None else render_answer(answer, kind))


def fixed_chars(prompt: str, query: Value, kind: Kind, fmt: str = "compact") -> int:
    """How many leading characters of `prompt` (rendered with demonstrations) do not depend on the query:
    the demonstrations, for an incremental format where they come first; 0 when the format is not one.
    The runtime's prefix cache keeps those characters' keys/values across calls (strategies/runtime/prompt_cache.py)."""
    tail = render([], query, kind, fmt=fmt).prompt
    return len(prompt) - len(tail) if prompt.endswith(tail) else 0
