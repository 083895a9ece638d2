"""Leave-one-out ICL accuracy: can the model, in context, predict each demo from the others?"""
from __future__ import annotations

from strategies.runtime.protocol import ModelRuntime
from strategies.serialize import parse_answer, render
from strategies.task import Task

from .registry import register


@register("loo_icl_acc", needs="model",
          help="share of demos whose output greedy ICL on the other demos reproduces exactly "
               "(one batched generate; a one-demo task predicts with no context)")
def loo_icl_acc(task: Task, runtime: ModelRuntime) -> dict[str, float]:
    from strategies.runtime.caps import answer_cap
    prompts, caps = [], []
    for i, held in enumerate(task.train):
        rest = task.train[:i] + task.train[i + 1:]
        prompts.append(render([(e.input, e.output) for e in rest], held.input, task.kind).prompt)
        # the cap comes from the other demos only, so the held-out answer's length does not leak
        # (a one-demo task has nothing else to estimate it from)
        sub = task.model_copy(update={"train": rest or (held,), "test": (held,)})
        caps.append(answer_cap(sub, held.input, runtime))
    gen = runtime.generate(prompts, task.kind, caps)
    hits = [parse_answer(text, task.kind) == ex.output for text, ex in zip(gen.texts, task.train)]
    return {"loo_icl_acc": sum(hits) / len(hits)}
