"""Run a model's linear layers in bf16 for a while, then put the exact fp32 tensors back.

Two users: LoRA training (strategies/ttt/lowp.py: the frozen weights, cast once instead of on every
autocast matmul) and, when asked for with `$TTTC_INFER_DTYPE=bfloat16`, generation on CPU. This CPU's
bf16 matmuls (AVX512-BF16) run 2-2.4x the fp32 rate on a decode step's shapes, but the answers are no
longer bit-for-bit those of fp32 decoding, so fp32 stays the default; eval/RESULTS.md has both measured.

Weights are swapped by replacing `Parameter.data` and restored with the original tensor objects, so the
fp32 weights come back bit-exact (their storage is never written), with or without an exception. A weight
tied to the input embedding is left alone in training: an embedding lookup is not autocast, so casting it
would change the embeddings; autocast casts it per call instead where it serves as the output layer.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterator

import torch

INFER_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def infer_dtype_from_env() -> torch.dtype:
    """`$TTTC_INFER_DTYPE` (float32 by default; bfloat16 for faster, slightly different CPU answers)."""
    raw = os.environ.get("TTTC_INFER_DTYPE", "float32")
    dtype = INFER_DTYPES.get(raw.strip().lower())
    if dtype is None:
        raise ValueError(f"TTTC_INFER_DTYPE={raw!r}: expected float32 or bfloat16 (also fp32, bf16)")
    return dtype


def causal_lm(model) -> torch.nn.Module:
    """The underlying *ForCausalLM (peft wraps it)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


@contextmanager
def linears_in_bf16(model: torch.nn.Module,
                    keep: Callable[[torch.nn.Parameter], bool] = lambda w: False) -> Iterator[None]:
    """Swap every fp32 plain nn.Linear weight for a bf16 copy while inside, except those `keep(weight)`
    selects and one tied to the input embedding; restore the original tensors on exit."""
    lm = causal_lm(model)
    tied = getattr(lm.get_input_embeddings(), "weight", None)
    swapped: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
    try:
        for module in lm.modules():
            if type(module) is not torch.nn.Linear:   # peft's LoRA layers subclass nothing here; their
                continue                              # base_layer is the plain Linear found on its own
            w = module.weight
            if w.dtype != torch.float32 or w is tied or keep(w):
                continue
            swapped.append((w, w.data))
            w.data = w.data.to(torch.bfloat16)
        yield
    finally:
        for w, original in swapped:
            w.data = original


@contextmanager
def inference_precision(model: torch.nn.Module, dtype: torch.dtype, keep_head: bool = False) -> Iterator[None]:
    """Generation in `dtype`: nothing to do for float32 or a model already held in another dtype (a GPU
    loads in bf16). For bfloat16 on an fp32 model, every fp32 parameter of the body (norms included, as a
    model loaded in bf16 holds them) is swapped for a bf16 copy while inside, and the original tensors are
    put back on exit. Buffers (rotary frequencies) stay as they are.

    The input embedding stays fp32 and its output is cast to bf16 as it leaves (the same values a bf16
    lookup would give, up to Gemma's scaling, applied before the cast); with `keep_head` the output layer
    stays fp32 too, for a caller that multiplies by it itself (strategies/decode.py). Those are most of a
    small model's weights (Gemma 3 270M: 168M of 268M, tied), so a call casts ~100M weights, not 268M.

    Why not autocast: it leaves the residual stream and the key/value cache in fp32 and casts them again
    for every matmul and attention call, which ate most of the gain (torch profiler: `aten::copy_` went
    from 2% to 19% of a grid follow-up)."""
    params = [p for p in dict.fromkeys(model.parameters()) if p.dtype == torch.float32]
    if dtype != torch.bfloat16 or not params:
        yield
        return
    lm = causal_lm(model)
    embed = lm.get_input_embeddings()
    keep = {id(getattr(embed, "weight", None))}
    if keep_head:
        keep.add(id(getattr(lm.get_output_embeddings(), "weight", None)))
    hook = embed.register_forward_hook(lambda module, args, out: out.to(torch.bfloat16))
    swapped: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
    try:
        for p in params:
            if id(p) in keep:
                continue
            swapped.append((p, p.data))
            p.data = p.data.to(torch.bfloat16)
        yield
    finally:
        hook.remove()
        for p, original in swapped:
            p.data = original
