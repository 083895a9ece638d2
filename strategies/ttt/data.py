"""TTT training data from a task's own demonstrations: leave-one-out (and leave-two-out) items, augmented, tokenized."""
from __future__ import annotations

import random
import zlib
from itertools import combinations
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ..task import Example, Task
from .encode import encode_item
from .train import TrainSeq
from ..runtime.protocol import ModelRuntime


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_augment: int = Field(4, ge=1, description="views per item, identity included: D8 geometry + colour permutation "
                                                "(0 fixed) + demo order for grids, demo order only for text")
    geometric: bool = Field(True, description="use rotations/flips/transposes in the views (grid tasks)")
    colours: bool = Field(True, description="permute colours 1..9 in the views (grid tasks)")
    size: bool = Field(False, description="also use the x2 upscale view (grid tasks; doubles the length)")
    leave_two_out: Literal["auto", "always", "never"] = Field(
        "auto", description="add C(K,2) leave-two-out items; auto: when K < 4 or leave-one-out gives fewer than min_items")
    min_items: int = Field(12, ge=0, description="auto leave-two-out threshold, counted after augmentation")
    loss: Literal["demos", "query"] = Field(
        "demos", description="demos: loss on the outputs of context demos 2.. and the query (marc); query: query output only")
    max_items: int = Field(48, ge=1, description="cap on training sequences (marc: ~250 on a GPU; CPU time grows linearly)")
    max_len: int = Field(2048, ge=16, description="drop sequences longer than this many tokens")
    n_val: int = Field(1, ge=0, description="leave-one-out items held out for early stopping (identity view)")
    val_min_demos: int = Field(3, ge=2, description="hold out validation items only when the task has at least this many demos")
    seed: int = Field(0, description="seed for the views, the leave-two-out queries and the validation choice")


def _sub_task(task: Task, context: Sequence[int], query: int) -> Task:
    """The demos `context` as a task whose one test is demo `query` (with its output)."""
    return Task.model_construct(kind=task.kind, train=tuple(task.train[j] for j in context),
                                test=(task.train[query],), name=f"{task.name}:q{query}")


def _expand(task: Task, runtime: ModelRuntime, items: list[tuple[tuple[int, ...], int]], cfg: DataConfig,
            no_loss: set[int]) -> list[tuple[bool, TrainSeq]]:
    """Every item under up to `n_augment` views: (is identity view, sequence)."""
    from ..augment import views
    out = []
    for context, query in items:
        sub = _sub_task(task, context, query)
        seed = zlib.crc32(f"{cfg.seed}:{context}:{query}".encode())   # stable across processes, unlike hash()
        for view in views(sub, cfg.n_augment, seed, geometric=cfg.geometric, colours=cfg.colours,
                          shuffle=True, size=cfg.size):
            seen = view.apply(sub)
            order = view.order or tuple(range(len(context)))          # position -> index into `context`
            # demo loss skips the first demo (nothing to infer the rule from yet) and held-out demos
            loss = [cfg.loss == "demos" and pos >= 1 and context[order[pos]] not in no_loss
                    for pos in range(len(context))]
            q: Example = seen.test[0]
            seq = encode_item(runtime, [(e.input, e.output) for e in seen.train], q.input, q.output, task.kind, loss)
            out.append((view.is_identity, seq))
    return out


def ttt_sequences(task: Task, runtime: ModelRuntime, cfg: DataConfig | None = None) -> tuple[list[TrainSeq], list[TrainSeq]]:
    """Training and validation sequences from the task's demonstrations alone (test outputs are never used).

    Leave-one-out: with K demos, K items (K-1 demos as context, the held-out one as query); every item
    needs at least one context demo, so K = 1 gives nothing. Leave-two-out adds C(K,2) items (K-2 demos
    of context, one of the two held out, chosen by seed, as query) when asked or when data is scarce.

    Validation (early stopping), when K >= val_min_demos: `n_val` demos are held out. Their identity
    leave-one-out items, with loss on the query output only, form the validation set. In training they
    are never a query and their outputs never carry loss, though they may still appear as context:
    dropping them outright would cost a third of the data of a 3-demo task, while letting them carry
    loss would make the validation loss measure memorisation instead of generalisation.
    """
    cfg = cfg or DataConfig()
    k = len(task.train)
    rng = random.Random(cfg.seed)
    can_hold = cfg.n_val and k >= max(cfg.val_min_demos, cfg.n_val + 2)   # at least 2 demos left to train on
    held = set(rng.sample(range(k), cfg.n_val)) if can_hold else set()

    loo = [(tuple(j for j in range(k) if j != q), q) for q in range(k) if q not in held and k >= 2]
    seqs = _expand(task, runtime, loo, cfg, held)
    scarce = k < 4 or len(_dedup(seqs)) < cfg.min_items
    if k >= 3 and (cfg.leave_two_out == "always" or (cfg.leave_two_out == "auto" and scarce)):
        l2o = []
        for pair in combinations(range(k), 2):
            queries = [j for j in pair if j not in held]
            if queries:
                q = rng.choice(queries)
                l2o.append((tuple(j for j in range(k) if j not in pair), q))
        seqs += _expand(task, runtime, l2o, cfg, held)

    seqs = [(ident, s) for ident, s in _dedup(seqs) if len(s.ids) <= cfg.max_len]
    # keep every identity view first, then a seeded sample of the augmented ones
    rest = [s for ident, s in seqs if not ident]
    rng.shuffle(rest)
    train = ([s for ident, s in seqs if ident] + rest)[:cfg.max_items]

    val = []
    for q in sorted(held):
        demos = [(task.train[j].input, task.train[j].output) for j in range(k) if j != q]
        seq = encode_item(runtime, demos, task.train[q].input, task.train[q].output, task.kind, [False] * len(demos))
        if len(seq.ids) <= cfg.max_len:
            val.append(seq)
    return train, val


def _dedup(seqs: list[tuple[bool, TrainSeq]]) -> list[tuple[bool, TrainSeq]]:
    seen, out = set(), []
    for ident, s in seqs:
        if s.ids not in seen:   # same tokens, same mask: views that coincide on this task
            seen.add(s.ids)
            out.append((ident, s))
    return out
