"""Greedy decoding that checks drafted tokens in the same forward pass: same answers, fewer steps.

A decode step of a small model on a CPU costs about the same for one new token per row as for eight:
it is bound by reading the weights, not by arithmetic (Gemma 3 270M, batch 8: ~0.13 s per step). So
each step feeds every row its tokens not yet cached plus a draft of what may follow
(strategies/runtime/lookup.py), and keeps, per row, the drafted tokens that equal the model's own greedy
choice at their place, plus the greedy token after the last one kept. Nothing is accepted that plain
greedy decoding would not have produced, so the answers are the same (up to floating-point ties: a
step over several positions sums in another order; eval/bench_decode.py counts identical answers).

The batch's key/value cache stays rectangular: after each step it is cut back to the columns every
row confirmed, and a row that confirmed more feeds those tokens again in the next step (they are
certain, so they cost a column, not a step). Sliding-window layers keep their past until the cut
(`activate_past_recording`), so a model like Gemma 3 is cut exactly too.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from .kv import cache_kwarg
from .lookup import NgramIndex


def decode(decoder: Any, project: Callable[[torch.Tensor], torch.Tensor], past: Any, mask: torch.Tensor,
           last_pos: torch.Tensor, first: Sequence[int], prompts: Sequence[Sequence[int]], caps: Sequence[int],
           is_done: Callable[[list[int]], bool], width: int) -> list[list[int]]:
    """Each row's new tokens: `first` is each row's greedy first token (from the prefill, already out of
    the cache), `prompts` its real prompt tokens (drafts are looked up there and in the answer so far),
    `width` the tokens fed per row and step (pending plus drafted). `project(hidden)` maps decoder
    states (rows, positions, d) to greedy token ids (rows, positions)."""
    if width < 2:
        raise ValueError(f"width must be >= 2 (1 is plain greedy decoding), got {width}")
    n = len(first)
    tokens: list[list[int]] = [[] for _ in range(n)]
    index = [NgramIndex(p) for p in prompts]

    def emit(row: int, new: Sequence[int]) -> bool:
        """Append tokens to a row until it is done; whether it goes on (False: it finished)."""
        for t in new:
            tokens[row].append(int(t))
            index[row].append(int(t))
            if len(tokens[row]) >= caps[row] or is_done(tokens[row]):
                return False
        return True

    pending: dict[int, list[int]] = {}    # row -> tokens emitted but not yet in the cache
    live = []
    for row in range(n):
        if emit(row, [first[row]]):
            live.append(row)
            pending[row] = [int(first[row])]
    if len(live) < n:
        past, mask, last_pos = _select(past, mask, last_pos, live)
    if not live:
        return tokens
    past.activate_past_recording()
    device = mask.device
    while live:
        w = max(width, max(len(pending[r]) for r in live))
        feed, drafted = [], []
        for r in live:
            d = index[r].draft(w - len(pending[r]))
            row = pending[r] + d
            drafted.append(len(d))
            feed.append(row + [row[-1]] * (w - len(row)))   # filler after the draft: never accepted
        ids = torch.tensor(feed, device=device)
        steps = torch.arange(1, w + 1, device=device)
        step_mask = torch.cat([mask, mask.new_ones((len(live), w))], dim=1)
        hidden = decoder(input_ids=ids, attention_mask=step_mask, position_ids=last_pos[:, None] + steps,
                         **cache_kwarg(decoder, past), use_cache=True).last_hidden_state
        greedy = project(hidden).tolist()          # greedy[j][i]: the token after feed[j][:i + 1]
        confirmed, survivors = [], []
        for j, r in enumerate(live):
            p, row, g = len(pending[r]), feed[j], greedy[j]
            m = p                                  # fed tokens that are certain: the pending ones, then
            while m < p + drafted[j] and row[m] == g[m - 1]:   # each draft equal to the greedy choice
                m += 1
            if emit(r, row[p:m] + [g[m - 1]]):
                survivors.append(j)
                confirmed.append(m)
                pending[r] = row[:m] + [g[m - 1]]  # trimmed to the uncached part below
            else:
                del pending[r]
        if not survivors:
            break
        c = min(confirmed)                         # columns every surviving row confirmed
        past.crop(-(w - c))
        for j in survivors:
            pending[live[j]] = pending[live[j]][c:]
        mask = torch.cat([mask, mask.new_ones((len(live), c))], dim=1)
        last_pos = last_pos + c
        if len(survivors) < len(live):
            past, mask, last_pos = _select(past, mask, last_pos, survivors)
        live = [live[j] for j in survivors]
    return tokens


def _select(past: Any, mask: torch.Tensor, last_pos: torch.Tensor, keep: list[int]):
    index = torch.tensor(keep, device=mask.device)
    past.batch_select_indices(index)
    return past, mask[index], last_pos[index]
