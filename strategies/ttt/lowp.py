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


def causal_lm(model) -> torch.nn.Module:
    """The underlying *ForCausalLM (peft wraps it)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


@contextmanager
def frozen_in_bf16(model: torch.nn.Module, enabled: bool = True) -> Iterator[torch.Tensor | None]:
    """Swap every frozen fp32 nn.Linear weight for a bf16 copy while inside; yield the output layer's
    weight in bf16 (for the loss's logits) or None when the output layer is trained or not a plain Linear.

    A weight tied to the input embedding is not swapped (an embedding lookup is not autocast, so it
    would change the numbers); the output layer then gets a separate bf16 copy instead."""
    if not enabled:
        yield None
        return
    lm = causal_lm(model)
    embed = lm.get_input_embeddings()
    tied = getattr(embed, "weight", None)
    swapped: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
    try:
        for module in lm.modules():
            if type(module) is not torch.nn.Linear:   # peft's LoRA layers subclass nothing here; their
                continue                              # base_layer is the plain Linear found on its own
            w = module.weight
            if w.requires_grad or w.dtype != torch.float32 or w is tied:
                continue
            swapped.append((w, w.data))
            w.data = w.data.to(torch.bfloat16)
        head = lm.get_output_embeddings()
        head_w = None
        if type(head) is torch.nn.Linear and not head.weight.requires_grad:
            head_w = head.weight.detach()
            if head_w.dtype == torch.float32:
                head_w = head_w.to(torch.bfloat16)
        yield head_w
    finally:
        for w, original in swapped:
            w.data = original
