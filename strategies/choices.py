"""Answers constrained to a query's options: each option's likelihood instead of free generation.

Evaluation harnesses score a multiple-choice query by the likelihood of each option; a small model that
knows the answer but not the format then still answers in the target's form. A query has options when
it lists them (`(A) ...` lines), or when the demonstrations' answers are a small closed label set
(`True`/`False`, `Yes`/`No`, `valid`/`invalid`: 2-4 labels, none a number). Other queries (numbers,
word lists, grids) are generated freely, exactly as without this option.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from .cost import Cost
from .runtime.protocol import ModelRuntime
from .scoring import as_number, option_candidates
from .serialize import render_answer
from .task import Kind, Task, Value

Choices = Literal["free", "options"]
MAX_LABELS = 4


def candidates(task: Task, query: Value) -> list[str]:
    """The options `query` is answered from: those it lists, else the demonstrations' closed label
    set; [] when it has neither (then it is answered freely)."""
    if task.kind != "text" or not isinstance(query, str):
        return []
    listed = option_candidates(query)
    if listed:
        return listed
    labels = list(dict.fromkeys(str(e.output) for e in task.train))
    if 2 <= len(labels) <= MAX_LABELS and all(as_number(label) is None for label in labels):
        return labels
    return []


@dataclass
class Answers:
    """Answer texts as generation returns them (ready for parse_answer), one per prompt, with the
    entropy of each answer's first choice and what it all cost."""
    texts: list[str]
    first_token_entropy: list[float]
    cost: Cost
    constrained: int = 0            # how many prompts were answered from their options
    cached_tokens: int = 0          # prompt tokens whose keys/values came from the prefix cache


def answer(runtime: ModelRuntime, prompts: Sequence[str], kind: Kind, caps: Sequence[int],
           options: Sequence[Sequence[str]], **generate_kw: Any) -> Answers:
    """Prompts with options get the likeliest option; the rest are generated in one batch."""
    free = [i for i, opts in enumerate(options) if not opts]
    texts: list[str] = [""] * len(prompts)
    entropy: list[float] = [0.0] * len(prompts)
    cost = Cost()
    cached = 0
    if free:
        kw = {k: [v[i] for i in free] if k == "prefix_chars" and v is not None else v
              for k, v in generate_kw.items()}
        gen = runtime.generate([prompts[i] for i in free], kind, [caps[i] for i in free], **kw)
        for j, i in enumerate(free):
            texts[i], entropy[i] = gen.texts[j], gen.first_token_entropy[j]
        cost += gen.cost
        cached = gen.cached_tokens
    for i, opts in enumerate(options):
        if not opts:
            continue
        rendered = [render_answer(o, kind) for o in opts]
        logps, c = runtime.choice_logprobs(prompts[i], rendered)
        cost += c
        best = max(range(len(opts)), key=lambda j: (logps[j], -j))
        texts[i] = rendered[best]
        entropy[i] = _entropy(logps)
    return Answers(texts, entropy, cost, constrained=len(prompts) - len(free), cached_tokens=cached)


def _entropy(logps: Sequence[float]) -> float:
    """Entropy of the options' likelihoods renormalised over the options."""
    top = max(logps)
    weights = [math.exp(lp - top) for lp in logps]
    z = sum(weights)
    return -sum(w / z * math.log(w / z) for w in weights if w > 0)
