"""Turn (demos, query, answer) into one training sequence whose loss mask covers exactly the answer tokens."""
from __future__ import annotations

from typing import Sequence

from ..serialize import render, render_answer
from ..task import Kind, Value
from .train import TrainSeq
from ..runtime.protocol import ModelRuntime


def encode_item(runtime: ModelRuntime, demos: Sequence[tuple[Value, Value]], query: Value, answer: Value, kind: Kind,
                demo_loss: Sequence[bool] | None = None, weight: float = 1.0) -> TrainSeq:
    """The prompt (demos + query) and the query's answer; loss on the answer and on the outputs of the
    demos flagged in `demo_loss` (default: demos 2..K, marc's demo loss; all False: the query only).

    The prompt is tokenized whole, exactly as `runtime.generate` sees it at inference, and the answer
    separately, as generation continues a prompt. Demo outputs inside the prompt are located by character
    offsets, so the mask covers exactly their tokens (tokenizing demo pieces separately would merge an
    answer's final "\\n\\n" into one token that a whole-prompt tokenization never produces).
    """
    if demo_loss is None:
        demo_loss = [j >= 1 for j in range(len(demos))]
    r = render(demos, query, kind, answer=answer)
    spans = []
    for j, (x, y) in enumerate(demos):
        if not demo_loss[j]:
            continue
        start = len(render(demos[:j], x, kind).prompt)
        text = render_answer(y, kind)
        if r.prompt[start:start + len(text)] != text:
            raise ValueError("the prompt format does not place demo answers after the prefix render() gives; "
                             "demo loss needs an incremental format")
        spans.append((start, start + len(text)))
    enc = runtime.tokenizer(r.prompt, add_special_tokens=False, return_offsets_mapping=True)
    prompt_mask = [any(s <= a and b <= e for s, e in spans) for a, b in enc["offset_mapping"]]
    answer_ids = runtime.encode(r.answer)
    return TrainSeq(tuple(enc["input_ids"]) + tuple(answer_ids), tuple(prompt_mask) + (True,) * len(answer_ids), weight)
