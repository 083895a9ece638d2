"""Batched greedy decoding, written out: prefill, then one token per step with the model's key/value cache.

Why not `model.generate`: a grid answer can only hold digits and newlines (strategies/serialize.py), so
its next token is chosen among the few vocabulary entries that spell those (`grid_token_ids`), and only
those rows of the output layer are computed. With Gemma 3's 262k-token vocabulary the output layer is
most of a decode step (measured here: 159 instead of 358 ms per step, batch 8, 800-token prompts). The
choice is the same greedy choice whenever the unconstrained argmax is a digit or a newline; when it is
not, the unconstrained answer would have been malformed anyway (`is_complete` ends a grid answer at the
first other character, and `parse_answer` rejects it), so the constraint can only turn a malformed answer
into a well-formed one. Finished rows leave the batch, so a long answer does not drag short ones along.

The first token's entropy (a routing feature) is always taken over the whole vocabulary.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from .kv import cache_kwarg

GRID_CHARS = frozenset("0123456789\n")


def grid_token_ids(tokenizer: Any) -> torch.Tensor:
    """Ids of the vocabulary entries that decode to digits and newlines only (one scan of the vocabulary,
    about 1 s for Gemma's 262k entries through the Rust tokenizer, 2 s through Python's; the runtime keeps it)."""
    rows = [[i] for i in range(len(tokenizer))]
    backend = getattr(tokenizer, "backend_tokenizer", None)   # a fast tokenizer's Rust core
    texts = (backend.decode_batch(rows, skip_special_tokens=False) if backend is not None
             else tokenizer.batch_decode(rows))
    ids = [i for i, text in enumerate(texts) if text and set(text) <= GRID_CHARS]
    if not any(tokenizer.decode([i]) == "\n" for i in ids):
        raise ValueError("the tokenizer has no token for a newline; grid answers cannot be decoded with it")
    return torch.tensor(ids, dtype=torch.long)


def decoder_and_head(model: Any) -> tuple[Any, torch.nn.Module] | None:
    """The model's decoder stack and output layer, when it exposes them and its logits are the output
    layer's plain product (no final soft-capping); every HF causal LM used here does."""
    try:
        decoder, head = model.get_decoder(), model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    if decoder is None or not isinstance(head, torch.nn.Linear):
        return None
    config = getattr(model, "config", None)
    if getattr(config, "final_logit_softcapping", None) or getattr(getattr(config, "text_config", None),
                                                                  "final_logit_softcapping", None):
        return None
    return decoder, head


def greedy(model: Any, ids: torch.Tensor, mask: torch.Tensor, caps: Sequence[int],
           is_done: Callable[[list[int]], bool], allowed: torch.Tensor | None = None,
           past: Any = None, draft_width: int = 1) -> tuple[list[list[int]], list[float]]:
    """Greedy continuations of left-padded `ids` (`mask` marks real tokens): each row's new tokens, at most
    its cap, ending where `is_done(tokens)` first holds; and each row's first-token entropy in nats.

    `past` is a model cache that already holds the first `past.get_seq_length()` columns (the prefix
    cache); `allowed` restricts every choice to those token ids. With `allowed` and `draft_width` > 1,
    each step also checks drafted tokens (strategies/runtime/speculative.py): the same answers in fewer steps.
    """
    from transformers import DynamicCache

    n = ids.shape[0]
    if past is None:
        past = DynamicCache(config=model.config)
    done_cols = past.get_seq_length()
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    parts = decoder_and_head(model)
    kv = cache_kwarg(parts[0] if parts is not None else model, past)   # the same cache object throughout

    def last_logits(step: dict) -> torch.Tensor:
        """(rows, vocab) logits at each row's last position. Through the output layer on a 2-D input
        where the model allows: `logits_to_keep` hands it a 3-D slice, which torch runs as a batched
        matmul that copies the whole output layer per row in bf16 (Gemma: 7 s of a 9 s answer)."""
        if parts is None:
            return model(**step, logits_to_keep=1).logits[:, -1]
        hidden = parts[0](**step).last_hidden_state[:, -1].contiguous()
        head = parts[1]   # the hidden state meets the head in the head's dtype (strategies/runtime/precision.py)
        return torch.nn.functional.linear(hidden.to(head.weight.dtype), head.weight, head.bias)

    logits = last_logits(dict(input_ids=ids[:, done_cols:], attention_mask=mask,
                              position_ids=positions[:, done_cols:], **kv, use_cache=True)).float()
    logp = torch.log_softmax(logits, dim=-1)
    entropy = (-(logp.exp() * logp).sum(-1)).tolist()
    if allowed is not None:
        allowed = allowed.to(logits.device)

    def choose(logits: torch.Tensor) -> torch.Tensor:   # (rows, vocab) -> the greedy token of each row
        return allowed[logits[:, allowed].argmax(-1)] if allowed is not None else logits.argmax(-1)

    if parts is not None and allowed is not None:   # only the allowed rows of the output layer
        weight = parts[1].weight[allowed]
        bias = None if parts[1].bias is None else parts[1].bias[allowed]

        def project(hidden: torch.Tensor) -> torch.Tensor:   # decoder states -> greedy allowed token ids
            return allowed[torch.nn.functional.linear(hidden.to(weight.dtype), weight, bias).argmax(-1)]

        def step_token(step: dict) -> torch.Tensor:
            return project(parts[0](**step).last_hidden_state[:, -1])
    else:
        def step_token(step: dict) -> torch.Tensor:
            return choose(last_logits(step))
    nxt = choose(logits)
    if allowed is not None and parts is not None and draft_width > 1 and hasattr(past, "crop") and hasattr(past, "activate_past_recording"):
        from . import speculative
        prompts = [row[m.bool()].tolist() for row, m in zip(ids, mask)]
        return speculative.decode(parts[0], project, past, mask, positions[:, -1], nxt.tolist(), prompts, caps,
                                  is_done, draft_width), entropy

    tokens: list[list[int]] = [[] for _ in range(n)]
    live = list(range(n))                 # original row of each row still in the batch
    last_pos = positions[:, -1]
    caps = list(caps)
    while True:
        keep = []
        for j, row in enumerate(live):
            tokens[row].append(int(nxt[j]))
            if not (len(tokens[row]) >= caps[row] or is_done(tokens[row])):
                keep.append(j)
        if not keep:
            break
        if len(keep) < len(live):         # finished rows leave the batch and its cache
            index = torch.tensor(keep, device=ids.device)
            past.batch_select_indices(index)
            mask, last_pos, nxt = mask[index], last_pos[index], nxt[index]
            live = [live[j] for j in keep]
        mask = torch.cat([mask, mask.new_ones((len(live), 1))], dim=1)
        last_pos = last_pos + 1
        nxt = step_token(dict(input_ids=nxt[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                              **kv, use_cache=True))
    return tokens, entropy
