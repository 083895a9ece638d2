"""Prompt-lookup drafts: guess a row's next tokens from where its latest tokens occurred before.

A grid answer mostly repeats runs that are already in its prompt (rows of the query grid, of the demo
outputs) or earlier in the answer (tiled and upscaled rows), so the tokens that followed the latest
earlier occurrence of the last few tokens are a good guess of what comes next. The guess is only a
draft: strategies/runtime/speculative.py checks every drafted token against the model's own greedy choice.
"""
from __future__ import annotations

from typing import Iterable


class NgramIndex:
    """A token sequence that grows at the end, with the latest earlier position of each n-gram.

    An n-gram is indexed once the token after it is known, so the sequence's own suffix never matches
    itself: a draft always copies tokens that really followed an earlier occurrence.
    """

    def __init__(self, tokens: Iterable[int] = (), n_max: int = 4, n_min: int = 2):
        if not 1 <= n_min <= n_max:
            raise ValueError(f"need 1 <= n_min <= n_max, got n_min={n_min}, n_max={n_max}")
        self.n_max, self.n_min = n_max, n_min
        self.tokens: list[int] = []
        self._last: dict[tuple[int, ...], int] = {}   # n-gram -> index of the token that followed it
        for t in tokens:
            self.append(t)

    def append(self, token: int) -> None:
        seq = self.tokens
        end = len(seq)                      # the new token's index: it follows every n-gram ending at end-1
        for n in range(self.n_min, self.n_max + 1):
            if end >= n:
                self._last[tuple(seq[end - n:end])] = end
        seq.append(int(token))

    def extend(self, tokens: Iterable[int]) -> None:
        for t in tokens:
            self.append(t)

    def draft(self, k: int) -> list[int]:
        """k tokens that followed the latest earlier occurrence of the longest matching suffix (n_max
        tokens down to n_min), continued periodically; empty when none occurred before."""
        seq = self.tokens
        if k <= 0:
            return []
        for n in range(min(self.n_max, len(seq)), self.n_min - 1, -1):
            start = self._last.get(tuple(seq[len(seq) - n:]))
            if start is not None:
                # copied as LZ77 copies: past the end, the copy reads its own output, so a run or a
                # period shorter than k (a row of 0s, a repeated pattern) drafts k tokens, not a few
                out: list[int] = []
                for i in range(k):
                    j = start + i
                    out.append(seq[j] if j < len(seq) else out[j - len(seq)])
                return out
        return []
