"""A key/value cache that grows in place, for the decode loops of strategies/runtime/decode.py and speculative.py.

transformers' `DynamicCache` appends each step's keys and values with `torch.cat`, which copies the whole
cache every step: for 8 views of a grid task (~500 cached columns, 18 layers) ~0.7 s of a 11.8 s TTT
follow-up, measured without the profiler (which had put it at a fifth). Here each layer keeps its
keys and values in a buffer with room to spare; a step writes its columns into the free room and the
layer hands attention a view of the filled part. Cutting back (drafted decoding) only moves the fill mark.

The attention sees the same numbers in the same order as with `DynamicCache`, so the answers are the same
(tests/test_decode_cache.py compares them, sliding-window layers included). `grow_in_place` converts the layers
of a filled `DynamicCache` (the prefix cache hands out deep copies, so the stored entry is untouched).
"""
from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer


class GrowingLayer(DynamicLayer):
    """A full-attention layer's keys and values in a buffer of `capacity` columns (doubled when full)."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, capacity: int):
        super().__init__()
        self.dtype, self.device = keys.dtype, keys.device
        self._fill = keys.shape[-2]
        self._k = self._room(keys, max(capacity, self._fill))
        self._v = self._room(values, max(capacity, self._fill))
        self.is_initialized = True
        self._refresh()

    @staticmethod
    def _room(x: torch.Tensor, capacity: int) -> torch.Tensor:
        b, h, n, d = x.shape
        buf = x.new_empty((b, h, capacity, d))
        buf[:, :, :n] = x
        return buf

    def _refresh(self) -> None:
        self.keys, self.values = self._k[:, :, :self._fill], self._v[:, :, :self._fill]

    def _write(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        n, m = self._fill, key_states.shape[-2]
        if n + m > self._k.shape[-2]:   # full: move to a buffer twice as large (rare: capacity is sized up front)
            self._k = self._room(self._k[:, :, :n], max(2 * self._k.shape[-2], n + m))
            self._v = self._room(self._v[:, :, :n], max(2 * self._v.shape[-2], n + m))
        self._k[:, :, n:n + m] = key_states
        self._v[:, :, n:n + m] = value_states
        self._fill = n + m
        self._refresh()

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        self._write(key_states, value_states)
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self._fill

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError(f"crop takes the number of columns to remove as a negative int, got {tokens_to_remove}")
        self._fill = max(self._fill + tokens_to_remove, 0)
        self._refresh()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._k, self._v = self._k[indices], self._v[indices]
        self._refresh()

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._k = self._k.repeat_interleave(repeats, dim=0)
        self._v = self._v.repeat_interleave(repeats, dim=0)
        self._refresh()

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.batch_select_indices(beam_idx.to(self.device))

    def reset(self) -> None:
        self._fill = 0
        self._refresh()


class GrowingSlidingLayer(GrowingLayer):
    """A sliding-window layer: attention sees at most the last `sliding_window - 1` cached columns plus the
    step's own, as `DynamicSlidingWindowLayer` with past recording shows them; older columns stay in the
    buffer, so a cut-back is exact whatever its size. `cumulative_length` counts every column ever cached
    (the buffer may start after the first ones: a filled sliding layer holds only its window)."""

    is_sliding = True

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, capacity: int, sliding_window: int,
                 cumulative_length: int):
        super().__init__(keys, values, capacity)
        self.sliding_window = sliding_window
        self._offset = cumulative_length - keys.shape[-2]   # columns before the buffer's first one

    @property
    def cumulative_length(self) -> int:
        return self._offset + self._fill

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        self._write(key_states, value_states)
        visible = self.sliding_window - 1 + key_states.shape[-2]
        start = max(self._fill - visible, 0)
        return self._k[:, :, start:self._fill], self._v[:, :, start:self._fill]

    def get_seq_length(self) -> int:
        return self.cumulative_length

    def get_max_length(self) -> int:
        return self.sliding_window

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        total = self.cumulative_length
        offset = max(total - self.sliding_window + 1, 0)
        length = (self.sliding_window - 1 if total >= self.sliding_window else total) + query_length
        return length, offset

    def activate_past_recording(self) -> None:   # always recorded: nothing leaves the buffer
        pass

    def crop(self, tokens_to_remove: int) -> None:
        if -tokens_to_remove > self._fill:
            raise RuntimeError(f"cannot cut {-tokens_to_remove} columns: only {self._fill} are still held")
        super().crop(tokens_to_remove)

    def reset(self) -> None:
        self._offset = 0
        super().reset()


def grow_in_place(past: Any, extra: int) -> Any:
    """Turn the layers of a filled `DynamicCache` into growing ones with room for `extra` more columns;
    returns `past`. Layers of other kinds (none in the models used here) are left as they are."""
    layers = getattr(past, "layers", None)
    if layers is None:
        return past
    for i, layer in enumerate(layers):
        if type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer) or not layer.is_initialized:
            continue
        if layer.keys is None or layer.keys.dim() != 4:
            continue
        capacity = layer.keys.shape[-2] + extra
        if isinstance(layer, DynamicSlidingWindowLayer):
            layers[i] = GrowingSlidingLayer(layer.keys, layer.values, capacity, layer.sliding_window,
                                            layer.cumulative_length)
        else:
            layers[i] = GrowingLayer(layer.keys, layer.values, capacity)
    return past
