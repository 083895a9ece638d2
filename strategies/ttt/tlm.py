"""The `tlm` strategy (Test-Time Learning, unsupervised): lower the perplexity of the task's inputs, then answer by ICL."""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

import torch
from pydantic import BaseModel, ConfigDict, Field

from ..base import Progress, Result, no_progress
from ..cost import Cost
from ..icl import ICLConfig
from ..task import Task
from .adapters import LoraSettings, attached, merged, seeded
from .train import TrainConfig, TrainSeq
from ..runtime.protocol import ModelRuntime

ADAPTER_NAME = "tlm"


class TLMLora(LoraSettings):
    """LoRA defaults from TLM: attention q and v only, a small rank (LLaMA-Factory's r=8, alpha=2r)."""
    rank: int = Field(8, ge=1, description="LoRA rank r")
    alpha: float = Field(16.0, gt=0, description="LoRA alpha; the update is scaled by alpha / rank")
    targets: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"], description="module names to adapt (TLM: q, v)")


class TLMTrainConfig(TrainConfig):
    """TLM's optimisation: lr 5e-5, one epoch, no early stopping (there is nothing labelled to hold out)."""
    lr: float = Field(5e-5, description="peak learning rate (TLM: 5e-5)")
    epochs: float = Field(1.0, description="passes over the selected inputs (TLM: 1)")
    max_steps: int | None = Field(16, description="hard cap on optimizer steps")
    batch_tokens: int = Field(1024, description="tokens per optimizer step, padding included")
    eval_every: int = Field(0, description="no held-out loss: TLM has no labels")


class TLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lora: TLMLora = Field(default_factory=TLMLora, description="the adapter trained on unlabeled inputs")
    train: TLMTrainConfig = Field(default_factory=TLMTrainConfig, description="the training loop (strategies/ttt/train.py)")
    p0: float = Field(2.0, description="keep only inputs whose base-model CE (mean nats/token) "
                                           "exceeds this (TLM: 2, 3 in its examples)")
    lam: float = Field(0.1, gt=0, description="weight of a kept input: lam * exp(CE - p0) (TLM: 0.1)")
    max_weight: float = Field(10.0, gt=0, description="cap on a weight: exp(CE - p0) explodes on inputs the model finds "
                                                       "very strange (not in TLM, whose in-domain CEs stay near p0)")
    max_len: int = Field(2048, ge=16, description="skip inputs longer than this many tokens")
    icl: ICLConfig = Field(default_factory=ICLConfig, description="how the adapted model answers (greedy ICL)")


def input_texts(tasks: Sequence[Task]) -> list[str]:
    """Every input (demo inputs and test inputs) rendered as the ICL prompt shows it: `in: <x>\\nout:`."""
    from ..serialize import render
    return [render([], e.input, t.kind).prompt for t in tasks for e in (*t.train, *t.test)]


@torch.no_grad()
def sample_ce(model: Any, seqs: Sequence[TrainSeq], bf16: bool) -> list[float]:
    """Mean token NLL (nats) of each sequence under `model`, one forward pass per sequence."""
    from .train import batch_loss
    dev = next(model.parameters()).device
    out = []
    for s in seqs:
        ids = torch.tensor([s.ids], device=dev)                 # (1, T)
        ones = torch.ones_like(ids)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            out.append(batch_loss(model, ids, ones, ones.bool(), torch.ones(1, device=dev)).item())
    return out


class TLM:
    """Minimise the input perplexity of unlabeled inputs (no outputs are used), then greedy ICL.

    The inputs are the task's demo inputs and test inputs, plus those of `unlabeled` tasks (TLM's offline
    mode over a batch of queries). Only inputs the base model finds surprising (CE > p0) are kept, each
    weighted by lam * exp(CE - p0), a constant (no gradient flows through it).
    """

    def __init__(self, config: TLMConfig | None = None, name: str = "tlm"):
        self.config = config or TLMConfig()
        self.name = name

    def run(self, task: Task, runtime: ModelRuntime, progress: Progress = no_progress,
            should_stop: Callable[[], bool] | None = None, unlabeled: Sequence[Task] = ()) -> Result:
        from ..icl import ICL
        from .train import train

        cfg = self.config
        start = time.perf_counter()
        texts = list(dict.fromkeys(input_texts([task, *unlabeled])))   # de-duplicated, order kept
        seqs = []
        for text in texts:
            ids = runtime.encode(text)
            if 2 <= len(ids) <= cfg.max_len:
                seqs.append(TrainSeq(tuple(ids), (True,) * len(ids)))   # labels = the input itself
        ce_start = time.perf_counter()
        ces = sample_ce(runtime.model, seqs, cfg.train.bf16)
        cost = Cost.inference(runtime.n_params, sum(len(s.ids) for s in seqs), 0, time.perf_counter() - ce_start)
        kept = [TrainSeq(s.ids, s.loss_mask, min(cfg.max_weight, cfg.lam * math.exp(ce - cfg.p0)))
                for s, ce in zip(seqs, ces) if ce > cfg.p0]
        progress("preparing", {"inputs": len(seqs), "kept": len(kept)})
        info: dict[str, Any] = {"n_inputs": len(seqs), "n_kept": len(kept), "ce": [round(c, 3) for c in ces], "steps": 0}

        with seeded(cfg.train.seed, runtime.device), attached(runtime, ADAPTER_NAME, cfg.lora) as peft_model:
            if kept and not (should_stop and should_stop()):
                # train.py normalises the loss by the weight sum, which would cancel lam; TLM's loss is the
                # plain weighted mean over all inputs, so its step size scales with sum(w)/N: fold that into lr
                scale = sum(s.weight for s in kept) / len(seqs)
                tcfg = cfg.train.model_copy(update={"lr": cfg.train.lr * scale})
                stats = train(peft_model, kept, tcfg, runtime.tokenizer.pad_token_id, progress=progress,
                              should_stop=should_stop)
                cost += Cost.training(runtime.n_params, stats.tokens, stats.steps, stats.wall_s)
                info.update(steps=stats.steps, loss_first=stats.losses[0], loss_last=stats.losses[-1],
                            lr=tcfg.lr, train_s=round(stats.wall_s, 2))
            if should_stop and should_stop():
                cost = cost.model_copy(update={"wall_s": time.perf_counter() - start})
                return Result(strategy=self.name, attempts=[[] for _ in task.test], cost=cost,
                              info={**info, "cancelled": True})
            with merged(peft_model, ADAPTER_NAME):
                answer = ICL(cfg.icl).run(task, runtime, progress)

        cost = (cost + answer.cost).model_copy(update={"wall_s": time.perf_counter() - start})
        return Result(strategy=self.name, attempts=answer.attempts, confidence=answer.confidence, cost=cost,
                      info={**info, **answer.info})
