"""BIG-bench and BIG-Bench Hard task files as tasks: `{"examples": [{"input", "target"}, ...]}`.

One file holds many examples of one task. A `Sampling` draws K of them (seeded) as the demonstrations
and the next N as the queries; that demonstration set is one task, so a TTT adapter is trained once
for all of its queries. Targets are matched after BBH's normalisation (strategies/scoring.py).
"""
from __future__ import annotations

import json
import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .task import MAX_DEMOS, MAX_TEXT_CHARS, Example, Task, TaskError

MAX_BIGBENCH_BYTES = 20_000_000   # the largest BIG-bench task files are a few MB


class Sampling(BaseModel):
    """Which examples of a BIG-bench file make the task: `demos` demonstrations drawn with `seed`, then
    the next `queries` examples (all the rest when None) as its test inputs."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    demos: int = Field(10, ge=1, le=MAX_DEMOS, description="demonstrations in the task")
    queries: int | None = Field(None, ge=1, description="test inputs (default: every example not a demonstration)")
    seed: int = Field(0, description="seed of the draw")


def is_bigbench(raw: bytes | str | dict) -> bool:
    """True for a JSON object with `examples` and no ARC `train` (a file that is not JSON is not one)."""
    if not isinstance(raw, dict):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False
    return isinstance(raw, dict) and "examples" in raw and "train" not in raw


def _example(raw: Any, i: int) -> tuple[str, str]:
    where = f"examples[{i}]"
    if not isinstance(raw, dict):
        raise TaskError(f"{where}: expected an object with 'input' and 'target', got {type(raw).__name__}")
    for key in ("input", "target"):
        if key not in raw:
            raise TaskError(f"{where}: missing '{key}'")
    target = raw["target"]
    if isinstance(target, list) and target and all(isinstance(t, str) for t in target):
        target = target[0]   # BIG-bench lists acceptable targets; the first is the reference answer
    for key, value in (("input", raw["input"]), ("target", target)):
        if not isinstance(value, str):
            raise TaskError(f"{where}.{key}: expected a string, got {type(value).__name__}")
        if not value.strip():
            raise TaskError(f"{where}.{key}: text is empty")
        if len(value) > MAX_TEXT_CHARS:
            raise TaskError(f"{where}.{key}: text has {len(value)} characters, the limit is {MAX_TEXT_CHARS}")
    return raw["input"], target


def task_from_bigbench(obj: Any, name: str = "task", sampling: Sampling | None = None) -> Task:
    """The task `sampling` draws from a BIG-bench file's examples; TaskError names the problem."""
    sampling = sampling or Sampling()
    if not isinstance(obj, dict):
        raise TaskError(f"expected a JSON object with 'examples', got {type(obj).__name__}")
    if "examples" not in obj:
        raise TaskError("missing 'examples' (a BIG-bench task file is {\"examples\": [{\"input\", \"target\"}, ...]})")
    raw = obj["examples"]
    if not isinstance(raw, list):
        raise TaskError(f"examples: expected a list, got {type(raw).__name__}")
    examples = [_example(ex, i) for i, ex in enumerate(raw)]
    if len(examples) < sampling.demos + 1:
        raise TaskError(f"{len(examples)} examples; --demos {sampling.demos} needs at least {sampling.demos + 1} "
                        f"(the demonstrations and one query)")
    order = list(range(len(examples)))
    random.Random(sampling.seed).shuffle(order)
    demos = order[:sampling.demos]
    rest = order[sampling.demos:]
    queries = rest if sampling.queries is None else rest[:sampling.queries]
    return Task(kind="text", name=name, scoring="normalised",
                train=tuple(Example(input=examples[i][0], output=examples[i][1]) for i in demos),
                test=tuple(Example(input=examples[i][0], output=examples[i][1]) for i in queries))
