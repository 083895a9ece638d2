"""Likelihood features: how surprising the demo outputs and the test input are to the model in context."""
from __future__ import annotations

from typing import Sequence

from strategies.runtime.protocol import ModelRuntime
from strategies.serialize import render, render_value
from strategies.task import Kind, Task, Value

from .registry import register


def query_split(demos: Sequence[tuple[Value, Value]], query: Value, kind: Kind) -> tuple[str, str]:
    """(context, query text): the ICL prompt up to the query input, and the query input itself.

    Trailing spaces move from the context to the query text, because BPE tokenizers glue a space to
    the word after it; scoring the query text then sees the tokens the full prompt would have."""
    full = render(demos, query, kind).prompt
    body = render_value(query, kind)
    at = full.rfind(body)
    context = full[:at].rstrip(" ")
    return context, full[len(context):at + len(body)]


def _mean_nll(logprob_lists: list[list[float]]) -> float:
    tokens = [lp for lps in logprob_lists for lp in lps]
    return -sum(tokens) / len(tokens) if tokens else 0.0


@register("demo_ppl", needs="model",
          help="mean token NLL (nats) of each demo output i>=1 given demos 0..i-1 as context "
               "(a one-demo task scores its output with no context)")
def demo_ppl(task: Task, runtime: ModelRuntime) -> dict[str, float]:
    demos = [(ex.input, ex.output) for ex in task.train]
    held = range(1, len(demos)) if len(demos) > 1 else range(1)
    items = [render(demos[:i], demos[i][0], task.kind, answer=demos[i][1]) for i in held]
    lps, _ = runtime.token_logprobs([r.prompt for r in items], [r.answer for r in items])
    return {"demo_ppl": _mean_nll(lps)}


@register("test_input_ppl", needs="model",
          help="mean token NLL (nats) of each rendered test input given all demos, averaged over test inputs")
def test_input_ppl(task: Task, runtime: ModelRuntime) -> dict[str, float]:
    demos = [(ex.input, ex.output) for ex in task.train]
    pairs = [query_split(demos, ex.input, task.kind) for ex in task.test]
    lps, _ = runtime.token_logprobs([c for c, _ in pairs], [q for _, q in pairs])
    per_input = [_mean_nll([lp]) for lp in lps]
    return {"test_input_ppl": sum(per_input) / len(per_input)}
