"""Turn (demos, query, answer) into one training sequence whose loss mask covers exactly the answer tokens."""
from __future__ import annotations

from typing import Literal, Sequence

from ..serialize import get_format, render_answer
from ..task import Kind, Value
from .train import TrainSeq

LossOn = Literal["demos", "query"]


def encode_item(tokenizer, demos: Sequence[tuple[Value, Value]], query: Value, answer: Value, kind: Kind,
                loss: LossOn = "demos", fmt: str = "compact", weight: float = 1.0) -> TrainSeq:
    """The whole prompt is tokenized at once, as at inference, and answer tokens are found by character offsets.

    loss="demos": the outputs of demos 2..K and the query's output (marc's demo loss); "query": the query's only.
    """
    render = get_format(fmt)
    text = render(demos, query, kind) + render_answer(answer, kind)
    spans = []
    if loss == "demos":
        for k in range(1, len(demos)):
            start = len(render(demos[:k], demos[k][0], kind))
            spans.append((start, start + len(render_answer(demos[k][1], kind))))
    spans.append((len(text) - len(render_answer(answer, kind)), len(text)))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = tuple(any(a <= s and e <= b for a, b in spans) and e > s for s, e in enc["offset_mapping"])
    return TrainSeq(tuple(enc["input_ids"]), mask, weight)
