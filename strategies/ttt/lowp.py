"""Hold the frozen weights in bf16 while a LoRA adapter trains under bf16 autocast.

Autocast casts every fp32 weight to bf16 again on every matmul of every step: on SmolLM2 and Gemma 3 on
CPU that copying was ~12% of a training step (torch profiler, `aten::copy_`), and for Gemma the output
layer alone is 168M weights. Casting the frozen weights once gives the matmuls the very same bf16
values autocast would have made, so the step computes the same numbers. The fp32 tensors are put back
on exit (the same storage, so base weights stay bit-exact), with or without an exception.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from ..runtime.precision import causal_lm, linears_in_bf16


@contextmanager
def frozen_in_bf16(model: torch.nn.Module, enabled: bool = True) -> Iterator[torch.Tensor | None]:
    """Swap every frozen fp32 nn.Linear weight for a bf16 copy while inside; yield the output layer's
    weight in bf16 (for the loss's logits) or None when the output layer is trained or not a plain Linear.

    A weight tied to the input embedding is not swapped (strategies/runtime/precision.py); the output layer then
    gets a separate bf16 copy instead."""
    if not enabled:
        yield None
        return
    lm = causal_lm(model)
    with linears_in_bf16(lm, keep=lambda w: w.requires_grad):
        head = lm.get_output_embeddings()
        head_w = None
        if type(head) is torch.nn.Linear and not head.weight.requires_grad:
            head_w = head.weight.detach()
            if head_w.dtype == torch.float32:
                head_w = head_w.to(torch.bfloat16)
        yield head_w
