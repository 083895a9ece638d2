"""Choosing among candidate answers: counting votes (flat or marc's hierarchical) and augmentation scoring."""
from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Sequence

from .augment import View
from .cost import Cost
from .serialize import render
from .task import Task, Value
from .runtime.protocol import ModelRuntime

IDENTITY_GROUP = "identity"


def _key(value: Value) -> str:
    return json.dumps(value)


def _valid(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, list) and bool(value) and all(isinstance(r, list) and r for r in value)


def _top(counts: Counter, first: dict[str, int], k: int) -> list[str]:
    return sorted(counts, key=lambda key: (-counts[key], first[key]))[:k]


def vote(candidates: Sequence[tuple[str, Value | None]], depth: int = 1, top_k: int = 3,
         n_attempts: int = 2) -> list[tuple[Value, float]]:
    """The best answers with their vote shares, best first, at most `n_attempts`.

    `candidates` are (view label, answer) pairs; label the answers of one transform alike to let
    depth 2 group them, and the identity transform "identity". None and malformed answers get no
    votes but still count in the denominator, so a share says how much of the ensemble agreed.

    depth 1: one count over all candidates; share = votes / len(candidates).
    depth 2 (marc): each label nominates its top_k answers; an answer's votes are the labels that
    nominate it; share = votes / number of labels.
    Ties go to the answer the identity label produced more often, then to the one seen first.
    """
    if depth not in (1, 2):
        raise ValueError(f"depth must be 1 or 2, got {depth}")
    first: dict[str, int] = {}
    values: dict[str, Value] = {}
    by_label: dict[str, Counter] = {}
    for i, (label, value) in enumerate(candidates):
        by_label.setdefault(label, Counter())
        if not _valid(value):
            continue
        key = _key(value)
        first.setdefault(key, i)
        values.setdefault(key, value)
        by_label[label][key] += 1
    if not values:
        return []

    if depth == 1:
        votes = sum(by_label.values(), Counter())
        total = len(candidates)
    else:
        votes = Counter(key for counts in by_label.values() for key in _top(counts, first, top_k))
        total = len(by_label)
    identity = by_label.get(IDENTITY_GROUP, Counter())
    ranked = sorted(votes, key=lambda key: (-votes[key], -identity[key], first[key]))
    return [(values[key], votes[key] / total) for key in ranked[:n_attempts]]


def augmentation_score(runtime: ModelRuntime, task: Task, test_index: int, candidates: Sequence[Value | None],
                       views: Sequence[View]) -> tuple[list[float], Cost]:
    """The ARChitects' product of experts: for each candidate, the sum over views of
    log P(view(candidate) | view(task)). Higher is better; invalid candidates get -inf.

    All (view, candidate) pairs go to the model in one `runtime.score` call.
    """
    mapped: list[list[Value] | None] = []   # each candidate in each view's frame; None if invalid
    for cand in candidates:
        try:
            mapped.append([v.apply_value(cand) for v in views] if _valid(cand) else None)
        except ValueError:
            mapped.append(None)
    prompts: list[str] = []
    answers: list[str] = []
    owner: list[int] = []
    for i, v in enumerate(views):
        t = v.apply(task)
        demos = [(e.input, e.output) for e in t.train]
        query = t.test[test_index].input
        for j, in_view in enumerate(mapped):
            if in_view is not None:
                r = render(demos, query, task.kind, answer=in_view[i])
                prompts.append(r.prompt)
                answers.append(r.answer)
                owner.append(j)
    scores = [0.0 if m is not None else -math.inf for m in mapped]
    if not prompts:
        return scores, Cost()
    sums, cost = runtime.score(prompts, answers)
    for j, s in zip(owner, sums):
        scores[j] += s
    return scores, cost
