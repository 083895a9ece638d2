"""The task format as JSON Schema, built from the limits strategies/task.py checks: what it accepts, exactly."""
from __future__ import annotations

from typing import Any

from .task import MAX_DEMOS, MAX_GRID_SIDE, MAX_TESTS, MAX_TEXT_CHARS


def grid_schema() -> dict[str, Any]:
    """A rectangular grid of colours 0..9. JSON Schema cannot say "rows of equal length", so a grid is
    one of MAX_GRID_SIDE shapes, one per width."""
    cell = {"type": "integer", "minimum": 0, "maximum": 9}
    return {"anyOf": [{"type": "array", "minItems": 1, "maxItems": MAX_GRID_SIDE,
                       "items": {"type": "array", "minItems": w, "maxItems": w, "items": cell}}
                      for w in range(1, MAX_GRID_SIDE + 1)],
            "description": f"rows of equal length, at most {MAX_GRID_SIDE}x{MAX_GRID_SIDE}; colours 0..9"}


def not_blank() -> str:
    """A pattern that finds a character Python's str.strip() keeps. Spelled out: regex engines disagree
    on what \\s covers (U+001C..U+001F and U+0085 are whitespace to Python, not to ECMA-262)."""
    spaces = [c for c in range(0x10000) if chr(c).isspace()]
    runs: list[list[int]] = []
    for c in spaces:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "[^" + "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in runs) + "]"


def text_schema() -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": not_blank(),
            "description": "not blank"}


def _examples(value: dict[str, Any], need_output: bool, limit: int) -> dict[str, Any]:
    output = value if need_output else {"anyOf": [value, {"type": "null"}]}
    example = {"type": "object", "properties": {"input": value, "output": output},
               "required": ["input", "output"] if need_output else ["input"], "additionalProperties": False}
    return {"type": "array", "minItems": 1, "maxItems": limit, "items": example}


def _task(kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"title": f"{kind.capitalize()}Task", "type": "object", "required": ["train", "test"],
            "properties": {"train": _examples(value, True, MAX_DEMOS), "test": _examples(value, False, MAX_TESTS),
                           "name": {"type": ["string", "integer", "null"], "description": "the task's name in answers"},
                           "scoring": {"enum": ["exact", "normalised"],
                                       "description": "how answers are matched (strategies/scoring.py); default exact"}},
            "additionalProperties": True}   # other tools' keys (`uuid`, `source`, ...) are ignored with a warning


def bigbench_schema() -> dict[str, Any]:
    """A BIG-bench / BBH task file: examples that are sampled into demonstrations and queries."""
    target = {"anyOf": [text_schema(), {"type": "array", "minItems": 1, "items": text_schema()}]}
    example = {"type": "object", "required": ["input", "target"], "additionalProperties": True,
               "properties": {"input": text_schema(), "target": target}}
    return {"title": "BigBenchTask", "type": "object", "required": ["examples"], "not": {"required": ["train"]},
            "properties": {"examples": {"type": "array", "minItems": 2, "items": example},
                           "name": {"type": ["string", "integer", "null"], "description": "the task's name in answers"}},
            "additionalProperties": True}


def task_schema() -> dict[str, Any]:
    """A grid task, a text task (every value of a task is of one kind), or a BIG-bench task file."""
    return {"oneOf": [_task("grid", grid_schema()), _task("text", text_schema()), bigbench_schema()],
            "description": 'ARC-format task: {"train": [{"input", "output"}], "test": [{"input"}]}, all grids or '
                           'all text; or a BIG-bench task: {"examples": [{"input", "target"}]} (see `demos`)'}
