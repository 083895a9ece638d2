"""Plain-ICL probe over augmented views of the task, read by self_consistency and first_token_entropy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strategies.cost import Cost
from strategies.runtime.protocol import ModelRuntime
from strategies.serialize import parse_answer, render
from strategies.task import Task, Value

from .registry import register

N_VIEWS = 5   # identity plus 4 augmented views; each costs one generation per test input
SEED = 0      # fixed, so that a task always gets the same views and the same feature values


@dataclass
class Probe:
    answers: list[Value | None]   # identity view, per test input; None when unparsable
    prompts: list[str]            # identity view, per test input: what produced `answers`
    entropy: list[float]          # first-token entropy (nats), identity view, per test input
    shares: list[float]           # top answer's vote share over all views, per test input
    n_views: int
    cost: Cost


def _invert(view: Any, value: Value | None) -> Value | None:
    try:
        return view.invert(value)
    except ValueError:   # no preimage under this view: an invalid answer, which votes for nothing
        return None


def icl_probe(task: Task, runtime: ModelRuntime) -> Probe:
    """One batched greedy generation over (view, test input); memoised on a featurize call's runtime.

    The identity view's prompts and answer caps are the ICL strategy's (all demos, strategies.runtime.caps),
    so the ICL node can reuse `Probe.answers` whenever its own prompts come out the same.
    """
    memo = getattr(runtime, "memo", None)
    if memo is not None and "icl_probe" in memo:
        return memo["icl_probe"]
    from strategies.augment import views
    from strategies.runtime.caps import answer_cap
    from strategies.voting import vote

    vs = views(task, N_VIEWS, SEED)   # the identity view comes first
    prompts, caps = [], []
    for view in vs:
        seen = view.apply(task)
        demos = [(ex.input, ex.output) for ex in seen.train]
        for ex in seen.test:
            prompts.append(render(demos, ex.input, seen.kind).prompt)
            caps.append(answer_cap(seen, ex.input, runtime))
    gen = runtime.generate(prompts, task.kind, caps)

    n = len(task.test)
    parsed = [parse_answer(t, task.kind) for t in gen.texts]   # view-major: view v, test i at v*n + i
    shares = []
    for i in range(n):
        # labelled by transform, as icl-vote does, so that ties go to the identity transform
        cands = [(v.transform, _invert(v, parsed[k * n + i])) for k, v in enumerate(vs)]
        ranked = vote(cands, depth=1)   # shares count unparsable answers as dissent
        shares.append(ranked[0][1] if ranked else 0.0)
    probe = Probe(parsed[:n], prompts[:n], gen.first_token_entropy[:n], shares, len(vs), gen.cost)
    if memo is not None:
        memo["icl_probe"] = probe
    return probe


@register("self_consistency", needs="model",
          help="vote share of the top greedy ICL answer across augmented views, mean over test inputs")
def self_consistency(task: Task, runtime: ModelRuntime) -> dict[str, float]:
    p = icl_probe(task, runtime)
    return {"self_consistency": sum(p.shares) / len(p.shares)}


@register("first_token_entropy", needs="model",
          help="entropy (nats) of the first answer token under plain ICL, mean over test inputs")
def first_token_entropy(task: Task, runtime: ModelRuntime) -> dict[str, float]:
    p = icl_probe(task, runtime)
    return {"first_token_entropy": sum(p.entropy) / len(p.entropy)}
