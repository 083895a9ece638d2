"""Plain in-context learning: one greedy answer with every demonstration in the prompt."""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from .base import Progress, Result, no_progress
from .choices import Choices, answer, candidates
from .serialize import fixed_chars, parse_answer, render
from .task import Task


class ICLConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_prompt_tokens: int = Field(4096, description="drop the earliest demos until the prompt fits (CPU time grows with length)")
    batch_size: int = Field(8, description="test inputs generated together")
    choices: Choices = Field("free", description="'options': a query with options (listed `(A)` lines, or the "
                                                  "demos' closed label set) is answered by the likeliest option")


def base_cache(runtime, fixed: list[int]) -> dict:
    """`generate` arguments that keep the prompts' demonstrations in the runtime's prefix cache under its
    own weights' name (none while a TTT adapter is in the weights, or for a runtime without the cache)."""
    tag = runtime.base_tag() if hasattr(runtime, "base_tag") else None
    return {"prefix_chars": fixed, "cache_tag": tag} if tag is not None else {}


def fit_demos(task: Task, query, runtime, max_tokens: int) -> list[tuple]:
    """All demos, or the latest ones that fit the token budget (at least one)."""
    demos = [(e.input, e.output) for e in task.train]
    while len(demos) > 1 and len(runtime.encode(render(demos, query, task.kind).prompt)) > max_tokens:
        demos = demos[1:]
    return demos


class ICL:
    """Greedy ICL. Confidence is exp(-entropy of the first answer token): a cheap, rough proxy."""

    def __init__(self, config: ICLConfig | None = None, name: str = "icl"):
        self.config = config or ICLConfig()
        self.name = name

    def demos(self, task: Task, query, runtime) -> list[tuple]:
        """The demonstrations in the prompt of `query`."""
        return fit_demos(task, query, runtime, self.config.max_prompt_tokens)

    def run(self, task: Task, runtime, progress: Progress = no_progress) -> Result:
        from .runtime.caps import answer_cap
        progress("answering", {"tests": len(task.test)})
        prompts, caps, fixed, dropped = [], [], [], 0
        for ex in task.test:
            demos = self.demos(task, ex.input, runtime)
            dropped = max(dropped, len(task.train) - len(demos))
            prompts.append(render(demos, ex.input, task.kind).prompt)
            caps.append(answer_cap(task, ex.input, runtime))
            fixed.append(fixed_chars(prompts[-1], ex.input, task.kind))
        # a thread's follow-up on the same demonstrations prefills only its new query
        options = [candidates(task, ex.input) if self.config.choices == "options" else [] for ex in task.test]
        gen = answer(runtime, prompts, task.kind, caps, options, batch_size=self.config.batch_size,
                     **base_cache(runtime, fixed))
        answers = [parse_answer(t, task.kind) for t in gen.texts]
        confidence = sum(math.exp(-h) for h in gen.first_token_entropy) / len(prompts)
        return Result(strategy=self.name, attempts=[[a] if a is not None else [] for a in answers],
                      confidence=confidence, cost=gen.cost,
                      info={"raw": gen.texts, "demos_dropped": dropped})
