"""Hold a model's weights in bf16 for a while, then put the exact fp32 tensors back.

Two users: LoRA training (strategies/ttt/lowp.py: the frozen linear weights, cast once instead of on every
autocast matmul) and, when asked for with `$TTTC_INFER_DTYPE=bfloat16`, generation on CPU (every weight). This CPU's
bf16 matmuls (AVX512-BF16) run 2-2.4x the fp32 rate on a decode step's shapes, but the answers are no
longer bit-for-bit those of fp32 decoding, so fp32 stays the default; eval/RESULTS.md has both measured.

Weights are swapped by replacing `Parameter.data` and restored with the original tensor objects, so the
fp32 weights come back bit-exact (their storage is never written), with or without an exception. A weight
tied to the input embedding is left alone in training: an embedding lookup is not autocast, so casting it
would change the embeddings; autocast casts it per call instead where it serves as the output layer.
"""
from __future__ import annotations

import hashlib
import weakref
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import torch

INFER_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def infer_dtype_from_env() -> torch.dtype:
    """`$TTTC_INFER_DTYPE` (float32 by default; bfloat16 for faster, slightly different CPU answers)."""
    from ..settings import settings
    return INFER_DTYPES[settings().infer_dtype]


def causal_lm(model) -> torch.nn.Module:
    """The underlying *ForCausalLM (peft wraps it)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


@contextmanager
def swapped_data(pairs: Iterable[tuple[torch.nn.Parameter, torch.Tensor]]) -> Iterator[None]:
    """Give each parameter its new tensor while inside (`pairs` is consumed lazily, so a failure half-way
    restores what was swapped so far); on exit every parameter gets its original tensor object back."""
    swapped: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
    try:
        for p, new in pairs:
            swapped.append((p, p.data))
            p.data = new
        yield
    finally:
        for p, original in swapped:
            p.data = original


@contextmanager
def linears_in_bf16(model: torch.nn.Module,
                    keep: Callable[[torch.nn.Parameter], bool] = lambda w: False) -> Iterator[None]:
    """Swap every fp32 plain nn.Linear weight for a bf16 copy while inside, except those `keep(weight)`
    selects and one tied to the input embedding; restore the original tensors on exit."""
    lm = causal_lm(model)
    tied = getattr(lm.get_input_embeddings(), "weight", None)
    weights = (m.weight for m in lm.modules()
               # peft's LoRA layers subclass nothing here; their base_layer is the plain Linear found on its own
               if type(m) is torch.nn.Linear and m.weight.dtype == torch.float32 and m.weight is not tied
               and not keep(m.weight))
    with swapped_data((w, w.data.to(torch.bfloat16)) for w in weights):
        yield


def _fingerprint(t: torch.Tensor) -> tuple:
    """Where a tensor lives and a hash of ~4k evenly spaced elements of it: changes when the tensor is
    replaced or rewritten densely (a LoRA update folded in or taken out touches every element)."""
    flat = t.detach().reshape(-1)
    sample = flat[::max(1, flat.numel() // 4096)].contiguous()
    digest = hashlib.blake2b(sample.view(torch.uint8).numpy().tobytes(), digest_size=16).hexdigest()
    return t.data_ptr(), tuple(t.shape), t.stride(), str(t.dtype), digest


class Bf16Copies:
    """bf16 copies of fp32 parameters kept between generate calls, made again when a parameter changed.

    Casting all of Gemma 3 270M costs 0.5-0.9 s on one core, as much as a short answer; most weights
    (the 168M-weight embedding, the norms, every weight between two adapters) do not change from call
    to call. Costs half the model's size in memory while bf16 generation is on. A change is noticed by
    `_fingerprint`, which samples elements: an in-place edit of a few elements only would go unnoticed
    (nothing in this project edits weights that way; adapters are folded in densely)."""

    def __init__(self) -> None:
        # id(param) -> (weak reference to it, fingerprint, bf16 copy); the entry goes when the parameter does
        # (not a WeakKeyDictionary: it compares keys with ==, which a tensor answers element by element)
        self._copies: dict[int, tuple[weakref.ref, tuple, torch.Tensor]] = {}

    def get(self, param: torch.nn.Parameter) -> torch.Tensor:
        mark = _fingerprint(param.data)
        key = id(param)
        entry = self._copies.get(key)
        if entry is None or entry[0]() is not param or entry[1] != mark:
            ref = weakref.ref(param, lambda _, key=key, copies=self._copies: copies.pop(key, None))
            entry = (ref, mark, param.data.to(torch.bfloat16))
            self._copies[key] = entry
        return entry[2]


@contextmanager
def inference_precision(model: torch.nn.Module, dtype: torch.dtype, copies: Bf16Copies | None = None) -> Iterator[None]:
    """Generation in `dtype`: nothing to do for float32 or a model already held in another dtype (a GPU
    loads in bf16). For bfloat16 on an fp32 model, every fp32 parameter (embeddings and norms included, as
    a model loaded in bf16 holds them) is swapped for a bf16 copy while inside (from `copies` when given,
    so unchanged weights are not cast again), and the original tensors are put back on exit. Buffers
    (rotary frequencies) stay as they are.

    Why not autocast: it leaves the residual stream and the key/value cache in fp32 and casts them again
    for every matmul and attention call, which ate most of the gain (torch profiler: `aten::copy_` went
    from 2% to 19% of a grid follow-up)."""
    params = [p for p in dict.fromkeys(model.parameters()) if p.dtype == torch.float32]
    if dtype != torch.bfloat16 or not params:
        yield
        return
    with swapped_data((p, copies.get(p) if copies is not None else p.data.to(torch.bfloat16)) for p in params):
        yield
