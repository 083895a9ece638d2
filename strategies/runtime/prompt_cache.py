"""Keep the key/value cache of prompts' unchanging prefixes (their demonstrations) across generate calls.

A thread's follow-up ("now solve this input: ...") and a repeated query send the same demonstrations
under the same views as the turn before; only the query changes. Their prefill is most of a short
answer's time (~1.9 of 2.2 s for an 8-view text answer on SmolLM2), so the runtime keeps the cache of
the batch's prefixes and prefills only the new tail.

Correctness does not rest on guessing where a prefix ends: a prompt is tokenized whole, as it always is,
and the prefix is the run of its tokens that end a few characters before the caller's prefix boundary
(a tokenizer may merge across the boundary). An entry is reused only for the very same token ids in
every row, under the same `tag`, which the caller must change whenever the weights change (a TTT
adapter's cache key does). ICL and icl-vote answer under `Runtime.base_tag()`, the runtime's own
weights' name, which is None (nothing kept, nothing reused) while a TTT adapter is attached or folded in.
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

import torch

BACKOFF = 2          # characters before the boundary that a prefix token must end by


@dataclass(frozen=True)
class Split:
    """Each prompt's token ids cut in two: the cacheable prefix and the tail to prefill anew."""
    prefixes: tuple[tuple[int, ...], ...]
    tails: tuple[tuple[int, ...], ...]


def split_prompts(tokenizer: Any, prompts: Sequence[str], prefix_chars: Sequence[int]) -> Split:
    prefixes, tails = [], []
    for prompt, chars in zip(prompts, prefix_chars):
        enc = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        cut = 0
        for end in (b for _, b in enc["offset_mapping"]):
            if end > chars - BACKOFF:
                break
            cut += 1
        prefixes.append(tuple(ids[:cut]))
        tails.append(tuple(ids[cut:]))
    return Split(tuple(prefixes), tuple(tails))


def cache_bytes(cache: Any) -> int:
    total = 0
    for layer in getattr(cache, "layers", []):
        for t in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()
    return total


class PrefixCache:
    """An LRU of model caches by (tag, prefix ids per row), bounded by their memory in bytes.

    `get` hands out a deep copy: generation appends to the cache it is given."""

    def __init__(self, max_bytes: int | None = None):
        if max_bytes is None:
            from ..settings import settings
            max_bytes = int(settings().prefix_cache_mb * 2**20)
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return copy.deepcopy(item[0])

    def put(self, key: Hashable, cache: Any) -> None:
        size = cache_bytes(cache)
        if size > self.max_bytes:
            return
        with self._lock:
            self._items[key] = (copy.deepcopy(cache), size)
            self._items.move_to_end(key)
            while sum(s for _, s in self._items.values()) > self.max_bytes:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
