"""The `ttt` strategy: LoRA-train on the task's own demonstrations, then answer under augmented views and vote."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..base import Progress, Result, no_progress
from ..choices import Choices
from ..cost import Cost
from ..task import MAX_ATTEMPTS, Task, Value
from .adapters import (LoraSettings, attached, cache_key, demos_hash, folded, merged, seeded, shared_cache,
                       weights_modified)
from .data import DataConfig
from .train import TrainConfig
from ..runtime.protocol import ModelRuntime

ADAPTER_NAME = "ttt"


class TTTTrainConfig(TrainConfig):
    """The training loop's settings with defaults sized for one task on 2 CPU cores (~30 s of training)."""
    # lr: of 3e-4, 1e-3 and 3e-3, 1e-3 gave the lowest held-out-demo loss on flip_h and uppercase and the
    # second lowest on add_k (SmolLM2-135M, rank 16, 6-8 steps); marc's 5e-5 is for ~250 steps
    lr: float = Field(1e-3, description="peak learning rate; far above marc's 5e-5 because we take ~6-10 steps, not ~250")
    epochs: float = Field(2.0, description="passes over the training sequences (marc: 2)")
    max_steps: int | None = Field(10, description="hard cap on optimizer steps: the per-task time budget "
                                                  "(a step is ~1024 tokens, ~4-6 s on 2 CPU cores)")
    batch_tokens: int = Field(1024, description="tokens per step, padding included: 2-4 items, so a "
                                                    "short budget still takes several steps")
    eval_every: int = Field(4, description="held-out loss every N steps for early stopping (0: never, and no demo is held out)")
    patience: int = Field(2, description="stop after this many evaluations without improvement")


class TTTConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="the per-task LoRA adapter")
    train: TTTTrainConfig = Field(default_factory=TTTTrainConfig, description="the training loop (strategies/ttt/train.py)")
    data: DataConfig = Field(default_factory=DataConfig, description="TTT items built from the demonstrations")
    n_views: int = Field(8, ge=1, description="views per test input at inference, identity included; one greedy answer each")
    depth: Literal[1, 2] = Field(1, description="1: one vote over all answers; 2: marc's per-transform top_k first")
    top_k: int = Field(3, ge=1, description="answers each transform nominates at depth 2")
    aug_scoring: bool = Field(False, description="re-rank the top vote candidates by the sum of log P(answer) over the "
                                                 "views (ARChitects); costs one scoring pass per candidate and view")
    rescore: int = Field(4, ge=2, description="how many top vote candidates augmentation scoring re-ranks")
    seed: int = Field(0, description="seed for the inference views")
    choices: Choices = Field("free", description="'options': each view answers a query with options by the "
                                                  "likeliest one (strategies/choices.py)")
    cache: bool = Field(True, description="reuse a trained adapter for the same demos, settings and model")
    cache_dir: str | None = Field(None, description="also keep adapters on disk here (peft save_pretrained folders)")

    def adapter_json(self) -> str:
        """The settings that determine the trained adapter (not the inference ones): part of the cache key."""
        return json.dumps({"lora": self.lora.model_dump(), "train": self.train.model_dump(),
                           "data": self.data.model_dump()}, sort_keys=True)


class TTT:
    """Per-task test-time training (marc): leave-one-out LoRA training, then augmented inference and voting.

    Confidence is the mean over test inputs of the top answer's vote share.
    """

    def __init__(self, config: TTTConfig | None = None, name: str = "ttt"):
        self.config = config or TTTConfig()
        self.name = name

    def run(self, task: Task, runtime: ModelRuntime, progress: Progress = no_progress,
            should_stop: Callable[[], bool] | None = None) -> Result:
        from .data import ttt_sequences
        from .train import train

        cfg = self.config
        start = time.perf_counter()
        stop = should_stop or (lambda: False)
        cache = shared_cache(cfg.cache_dir) if cfg.cache else None
        key = cache_key(demos_hash(task), cfg.adapter_json(), runtime.model_id)
        cost = Cost()
        info: dict[str, Any] = {"cache_hit": False}

        hit = cache.get(key) if cache is not None else None
        if hit is not None:   # no training: fold the stored update into the plain model and answer
            state, meta = hit
            info.update(meta, cache_hit=True)
            tag = meta.get("weights_tag")   # the prefix cache's name for exactly these adapter weights
            if stop():
                return self._cancelled(task, cost, start, info)
            with weights_modified(runtime), folded(runtime.model, state, cfg.lora):
                attempts, shares, answer_cost, answer_info = answer_with_views(task, runtime, cfg, progress, tag)
            return self._result(attempts, shares, answer_cost, start, {**info, **answer_info})

        # seeded LoRA init and dropout, without disturbing the caller's global random state
        with seeded(cfg.train.seed, runtime.device), attached(runtime, ADAPTER_NAME, cfg.lora) as peft_model:
            # early stopping needs held-out items; without it no demo is held back from training
            data_cfg = cfg.data if cfg.train.eval_every else cfg.data.model_copy(update={"n_val": 0})
            seqs, val = ttt_sequences(task, runtime, data_cfg)
            progress("preparing", {"items": len(seqs), "val": len(val)})
            meta = {"n_items": len(seqs), "n_val": len(val), "steps": 0, "stopped_early": False}
            # names these very weights for the prefix cache: a retrained adapter (after eviction, or on
            # other hardware) may differ in the last bits, so it never reuses another run's keys/values
            tag = f"{key}:{uuid.uuid4().hex}" if cache is not None else None
            meta["weights_tag"] = tag
            if seqs and not stop():
                stats = train(peft_model, seqs, cfg.train, runtime.tokenizer.pad_token_id, val=val,
                              progress=progress, should_stop=should_stop)
                cost += Cost.training(runtime.n_params, stats.tokens, stats.steps, stats.wall_s)
                meta.update(steps=stats.steps, stopped_early=stats.stopped_early,
                            loss_first=stats.losses[0], loss_last=stats.losses[-1],
                            val_losses=stats.val_losses, train_s=round(stats.wall_s, 2))
            info.update(meta)
            if stop():
                return self._cancelled(task, cost, start, info)
            if cache is not None and meta["steps"] > 0:
                cache.store(key, peft_model, ADAPTER_NAME, meta)
            with merged(peft_model, ADAPTER_NAME):
                attempts, shares, answer_cost, answer_info = answer_with_views(task, runtime, cfg, progress, tag)

        return self._result(attempts, shares, cost + answer_cost, start, {**info, **answer_info})

    def _result(self, attempts: list[list[Value]], shares: list[list[float]], cost: Cost, start: float,
                info: dict[str, Any]) -> Result:
        cost = cost.model_copy(update={"wall_s": time.perf_counter() - start})
        top = [s[0] if s else 0.0 for s in shares]
        return Result(strategy=self.name, attempts=attempts, confidence=sum(top) / len(top), cost=cost,
                      info={**info, "shares": shares})

    def _cancelled(self, task: Task, cost: Cost, start: float, info: dict) -> Result:
        cost = cost.model_copy(update={"wall_s": time.perf_counter() - start})
        return Result(strategy=self.name, attempts=[[] for _ in task.test], confidence=0.0, cost=cost,
                      info={**info, "cancelled": True})


def _label(view: Any, kind: str) -> str:
    """The vote group: a grid view's transform (its colour/order variants vote together at depth 2);
    text views differ only in demo order, so each is its own group."""
    if kind == "grid":
        return view.transform
    return "identity" if view.is_identity else view.name


def answer_with_views(task: Task, runtime: ModelRuntime, cfg: TTTConfig, progress: Progress = no_progress,
                      weights_tag: str | None = None) -> tuple[list[list[Value]], list[list[float]], Cost, dict[str, Any]]:
    """Greedy answers for every test input under `cfg.n_views` views in one batched generate call,
    mapped back, voted on (and optionally re-ranked by augmentation scoring).

    `weights_tag` names the weights answering (the adapter's cache key): with it, the views' demonstration
    prefixes keep their key/value cache in the runtime, so a follow-up on the same demonstrations
    prefills only its new query.

    Returns attempts (best first, at most 2 per test input), their vote shares, the cost, and info.
    """
    from ..augment import views
    from ..choices import answer, candidates
    from ..runtime.caps import answer_cap
    from ..serialize import fixed_chars, parse_answer, render
    from ..voting import augmentation_score, vote

    vs = views(task, cfg.n_views, cfg.seed)
    seen = [v.apply(task) for v in vs]
    prompts, caps, fixed, options = [], [], [], []
    for i in range(len(task.test)):
        for t in seen:
            query = t.test[i].input
            prompt = render([(e.input, e.output) for e in t.train], query, task.kind).prompt
            prompts.append(prompt)
            caps.append(answer_cap(t, query, runtime))
            fixed.append(fixed_chars(prompt, query, task.kind))
            options.append(candidates(t, query) if cfg.choices == "options" else [])
    progress("answering", {"prompts": len(prompts)})
    gen = answer(runtime, prompts, task.kind, caps, options, prefix_chars=fixed, cache_tag=weights_tag)
    cost = gen.cost

    progress("voting", {"views": len(vs), "depth": cfg.depth})
    attempts, shares, valid = [], [], []
    n_keep = cfg.rescore if cfg.aug_scoring else MAX_ATTEMPTS
    for i in range(len(task.test)):
        texts = gen.texts[i * len(vs):(i + 1) * len(vs)]
        candidates = [(_label(v, task.kind), _invert(v, parse_answer(text, task.kind))) for v, text in zip(vs, texts)]
        ranked = vote(candidates, depth=cfg.depth, top_k=cfg.top_k, n_attempts=n_keep)
        if cfg.aug_scoring and len(ranked) > 1:
            scores, score_cost = augmentation_score(runtime, task, i, [value for value, _ in ranked], vs)
            cost += score_cost
            order = sorted(range(len(ranked)), key=lambda j: (-scores[j], -ranked[j][1], j))
            ranked = [ranked[j] for j in order]
        ranked = ranked[:MAX_ATTEMPTS]
        attempts.append([value for value, _ in ranked])
        shares.append([share for _, share in ranked])
        valid.append(sum(value is not None for _, value in candidates))
    return attempts, shares, cost, {"n_views": len(vs), "views": [v.name for v in vs], "valid_answers": valid,
                                    "depth": cfg.depth, "aug_scoring": cfg.aug_scoring,
                                    "prefix_cached_tokens": gen.cached_tokens, "constrained": gen.constrained}


def _invert(view: Any, value: Value | None) -> Value | None:
    try:
        return view.invert(value)
    except ValueError:   # no preimage under this view: an invalid answer, no vote
        return None
