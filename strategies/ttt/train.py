"""The LoRA training loop: length-bucketed batches, loss only where labelled, warm-up + cosine, early stopping."""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from pydantic import BaseModel, ConfigDict, Field

from ..base import Progress, no_progress
from ..runtime.precision import causal_lm
from .lowp import frozen_in_bf16


@dataclass(frozen=True)
class TrainSeq:
    """One training sequence: token ids, which positions carry loss, and a weight (TLM's λ·exp(CE−P0))."""
    ids: tuple[int, ...]
    loss_mask: tuple[bool, ...]
    weight: float = 1.0


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr: float = Field(2e-4, description="peak learning rate (AdamW)")
    epochs: float = Field(2.0, description="passes over the training sequences")
    max_steps: int | None = Field(None, description="hard cap on optimizer steps (the step budget)")
    batch_tokens: int = Field(2048, description="tokens per optimizer step, padding included; bucketing keeps padding small")
    max_batch: int = Field(16, description="at most this many sequences per step")
    warmup_frac: float = Field(0.1, description="share of steps spent warming up linearly, then cosine to 0")
    weight_decay: float = Field(0.0, description="AdamW weight decay")
    grad_clip: float = Field(1.0, description="max gradient norm; 0 disables")
    bf16: bool = Field(True, description="bf16 autocast; ~3x faster than fp32 on this CPU, LoRA weights stay fp32")
    eval_every: int = Field(0, description="evaluate held-out loss every N steps (0: never)")
    patience: int = Field(2, description="stop after this many evaluations without improvement")
    min_delta: float = Field(0.01, description="improvement in held-out loss that counts")
    seed: int = Field(0, description="shuffling seed")


@dataclass
class TrainStats:
    steps: int = 0
    tokens: int = 0          # real (non-pad) tokens run forward and backward
    wall_s: float = 0.0
    losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    stopped_early: bool = False


def make_batches(seqs: Sequence[TrainSeq], batch_tokens: int, max_batch: int, rng: random.Random) -> list[list[TrainSeq]]:
    """Sort by length, cut into batches under the token budget, shuffle the batch order."""
    order = sorted(seqs, key=lambda s: (len(s.ids), rng.random()))
    batches, cur = [], []
    for s in order:
        width = max([len(s.ids)] + [len(c.ids) for c in cur])
        if cur and (width * (len(cur) + 1) > batch_tokens or len(cur) >= max_batch):
            batches.append(cur)
            cur = []
        cur.append(s)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def _collate(batch: Sequence[TrainSeq], pad_id: int, device) -> tuple[torch.Tensor, ...]:
    width = max(len(s.ids) for s in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.bool)
    for i, s in enumerate(batch):
        n = len(s.ids)
        ids[i, :n] = torch.tensor(s.ids)
        attn[i, :n] = 1
        mask[i, :n] = torch.tensor(s.loss_mask)
    weights = torch.tensor([s.weight for s in batch])
    return ids.to(device), attn.to(device), mask.to(device), weights.to(device)


LOGITS_BUDGET = 2**28   # logits elements held at once (1 GB in fp32: 1,024 positions of Gemma); more go in chunks


def _nll(project: Callable[[torch.Tensor], torch.Tensor], h: torch.Tensor, targets: torch.Tensor,
         cap: float | None) -> torch.Tensor:
    logits = project(h).float()   # (n, V)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, targets, reduction="none")


def answer_nll(project: Callable[[torch.Tensor], torch.Tensor], vocab: int, h: torch.Tensor,
               targets: torch.Tensor, cap: float | None = None) -> torch.Tensor:
    """Per-position NLL of `targets` from hidden states `h` (N, H) through the output layer `project`.

    With Gemma's 262k-token vocabulary, 1,000 answer positions hold ~1 GB of fp32 logits, and their
    softmax and gradient as much again; a batch of big ARC grids has up to 2,048 (a Ray worker was killed
    for memory on Gemma grid TTT, and these logits are the largest transient tensors of a step). Past LOGITS_BUDGET elements the positions go through in chunks, and
    under autograd each chunk is checkpointed: its logits are recomputed in the backward pass instead of
    kept, for one more output-layer matmul over those positions (~12% of a Gemma step, estimated from
    FLOPs; the budget is set so that the small-grid and text batches of this project never pay it).
    The numbers are the same either way.
    """
    rows = max(1, LOGITS_BUDGET // vocab)
    if h.shape[0] <= rows:
        return _nll(project, h, targets, cap)
    from torch.utils.checkpoint import checkpoint
    parts = []
    for a in range(0, h.shape[0], rows):
        args = (project, h[a:a + rows], targets[a:a + rows], cap)
        parts.append(checkpoint(_nll, *args, use_reentrant=False) if torch.is_grad_enabled() else _nll(*args))
    return torch.cat(parts)


def batch_loss(model, ids, attn, mask, weights, head: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted mean token NLL over labelled positions. Logits are computed only there: with a 262k-token
    vocabulary (Gemma 3) the full logits tensor would cost more than the rest of the model. `head`: the
    output layer's weight to use instead of the layer (a bf16 copy, see lowp.py)."""
    lm = causal_lm(model)
    hidden = lm.get_decoder()(input_ids=ids, attention_mask=attn).last_hidden_state   # (B, T, H)
    target_mask = mask[:, 1:]                      # token t is predicted from position t-1
    h = hidden[:, :-1][target_mask]                # (N, H) only the positions with loss
    out = lm.get_output_embeddings()
    if head is not None:
        def project(x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.linear(x, head, getattr(out, "bias", None))
    else:
        project = out
    nll = answer_nll(project, lm.config.get_text_config().vocab_size, h, ids[:, 1:][target_mask],
                     getattr(lm.config, "final_logit_softcapping", None))
    row = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(target_mask)[target_mask]
    w = weights[row]
    return (nll * w).sum() / w.sum().clamp_min(1e-8)


@torch.no_grad()
def eval_loss(model, seqs: Sequence[TrainSeq], pad_id: int, cfg: TrainConfig, head: torch.Tensor | None = None) -> float:
    model.eval()
    dev = next(model.parameters()).device
    total, n = 0.0, 0
    for batch in make_batches(seqs, cfg.batch_tokens, cfg.max_batch, random.Random(0)):
        ids, attn, mask, w = _collate(batch, pad_id, dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            total += batch_loss(model, ids, attn, mask, w, head).item() * len(batch)
        n += len(batch)
    model.train()
    return total / max(n, 1)


def train(model, seqs: Sequence[TrainSeq], cfg: TrainConfig, pad_id: int,
          val: Sequence[TrainSeq] | None = None, progress: Progress = no_progress,
          should_stop: Callable[[], bool] | None = None) -> TrainStats:
    """Train the parameters of `model` that require grad (the active LoRA adapter) on `seqs`.

    Early stopping: every `eval_every` steps the loss on `val` (held-out leave-one-out items) is measured;
    after `patience` evaluations without a `min_delta` improvement, training stops (spend only while it pays).
    `should_stop` is polled every step so a caller can cancel; it raises no error, training just ends.
    """
    start = time.perf_counter()
    dev = next(model.parameters()).device
    rng = random.Random(cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("no trainable parameters: attach a LoRA adapter before training")
    if not seqs:
        raise ValueError("no training sequences")
    epoch_batches = make_batches(seqs, cfg.batch_tokens, cfg.max_batch, rng)
    total = max(1, math.ceil(len(epoch_batches) * cfg.epochs))
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    warmup = max(1, int(total * cfg.warmup_frac))
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
    stats, best, bad = TrainStats(), float("inf"), 0
    with frozen_in_bf16(model, enabled=cfg.bf16) as head:
        model.train()
        batches: list[list[TrainSeq]] = []
        while stats.steps < total:
            if not batches:
                batches = make_batches(seqs, cfg.batch_tokens, cfg.max_batch, rng)
            batch = batches.pop()
            ids, attn, mask, w = _collate(batch, pad_id, dev)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                loss = batch_loss(model, ids, attn, mask, w, head)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            stats.steps += 1
            stats.tokens += int(attn.sum())
            stats.losses.append(loss.item())
            progress("training", {"step": stats.steps, "of": total, "loss": round(stats.losses[-1], 4)})
            if should_stop is not None and should_stop():
                break
            if val and cfg.eval_every and stats.steps % cfg.eval_every == 0 and stats.steps < total:
                v = eval_loss(model, val, pad_id, cfg, head)
                stats.val_losses.append(v)
                if v < best - cfg.min_delta:
                    best, bad = v, 0
                else:
                    bad += 1
                    if bad >= cfg.patience:
                        stats.stopped_early = True
                        break
    model.eval()
    stats.wall_s = time.perf_counter() - start
    return stats
