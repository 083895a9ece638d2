"""A learnability probe: does a couple of LoRA steps on the demonstrations lower the loss of a held-out one?

The other features say whether plain ICL already gets a task right. Whether test-time training would pay
when it does not is a different question: some rules the model picks up from a few gradient steps, others
not at all. The probe asks it directly, at a small fraction of a TTT run: a rank-4 adapter, two optimizer
steps of at most 512 tokens on leave-one-out items (demo-order views), and the loss of one held-out
demonstration's output (given the others) before and after. The adapter is thrown away and the base model
is left bit for bit as it was (strategies/ttt/adapters.py `attached`).

Measured with `python -m eval.feature_separation` (eval/RESULTS.md, "The router"): on the 104 tasks of the
`relations` and `lexical` families, where it was chosen, the drop separates tasks where `ttt-lite` beats
ICL at ROC AUC 0.764, where no earlier feature passed 0.56; on 628 logged tasks 0.700, the next best column
`prompt_tokens` (0.659).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from strategies.cost import Cost
from strategies.runtime.protocol import ModelRuntime
from strategies.task import Task

from .registry import register


@dataclass(frozen=True)
class ProbeSettings:
    rank: int = 4
    steps: int = 2
    lr: float = 1e-3
    batch_tokens: int = 512
    n_augment: int = 2      # views per leave-one-out item (demo orders on text)
    max_items: int = 8
    seed: int = 0


PROBE = ProbeSettings()
KEYS = ("probe_loss0", "probe_loss1", "probe_drop")
FLOOR = 0.05   # nats/token: below it a loss is "already right", and its changes are noise


def drop(before: float, after: float) -> float:
    """How much the steps lowered the held-out loss, as a log ratio. Bounded where a plain relative drop
    is not: a loss of 0.02 that doubles would read as -100%, and one of 8 that falls to 4 as +50%."""
    return math.log((before + FLOOR) / (after + FLOOR))


@register("ttt_probe", keys=KEYS, needs="train",
          help=f"held-out demo output loss (nats/token) before and after {PROBE.steps} rank-{PROBE.rank} LoRA "
               f"steps on the other demos, and the log ratio of the two (each floored at 0.05); NaN with fewer than 3 demos (none to hold out)")
def ttt_probe(task: Task, runtime: ModelRuntime, settings: ProbeSettings = PROBE) -> dict[str, float]:
    from strategies.ttt.adapters import LoraSettings, attached, seeded
    from strategies.ttt.data import DataConfig, ttt_sequences
    from strategies.ttt.train import TrainConfig, eval_loss, train

    nan = {k: math.nan for k in KEYS}
    data = DataConfig(n_augment=settings.n_augment, max_items=settings.max_items, n_val=1, val_min_demos=3,
                      leave_two_out="never", seed=settings.seed)
    base = getattr(runtime, "runtime", runtime)   # `attached` swaps the model on the runtime itself
    seqs, val = ttt_sequences(task, base, data)
    if not seqs or not val:
        return nan
    cfg = TrainConfig(lr=settings.lr, max_steps=settings.steps, epochs=float(settings.steps),
                      batch_tokens=settings.batch_tokens, warmup_frac=0.0, seed=settings.seed)
    pad = base.tokenizer.pad_token_id
    lora = LoraSettings(rank=settings.rank, alpha=2.0 * settings.rank)
    with seeded(settings.seed, base.device), attached(base, "probe", lora) as model:
        before = eval_loss(model, val, pad, cfg)
        stats = train(model, seqs, cfg, pad)
        after = eval_loss(model, val, pad, cfg)
    val_tokens = 2 * sum(len(s.ids) for s in val)
    charge = getattr(runtime, "charge", None)
    if charge is not None:
        charge(Cost.training(base.n_params, stats.tokens, stats.steps, stats.wall_s)
               + Cost.inference(base.n_params, val_tokens, 0, 0.0))
    return {"probe_loss0": before, "probe_loss1": after, "probe_drop": drop(before, after)}
