"""The adaptation stage (marc's fine-tuning before TTT): one LoRA trained on the adapt families, merged at load."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel, ConfigDict, Field

from strategies.base import Progress, no_progress
from strategies.ttt.encode import encode_item
from strategies.ttt.train import TrainConfig, TrainSeq, eval_loss, train

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class AdaptConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank: int = Field(16, description="LoRA rank; 16 keeps the committed adapter ~10 MB in bf16")
    alpha: int = Field(32, description="LoRA alpha")
    lr: float = Field(5e-4, description="peak learning rate; a few hundred steps need a high LoRA rate")
    minutes: float = Field(45.0, description="wall-clock budget; sets the step count from measured throughput")
    tokens_per_s: float = Field(160.0, description="expected training throughput, to turn minutes into steps")
    batch_tokens: int = Field(2048, description="tokens per optimizer step")
    max_len: int = Field(1536, description="drop tasks whose sequence is longer")
    n_val: int = Field(48, description="held-out adapt tasks (other seeds) for the loss curve")
    eval_every: int = Field(40, description="steps between validation-loss measurements")
    families: list[str] | None = Field(None, description="adapt families to train on (default: all of the adapt split)")
    seed: int = Field(0, description="first task seed (from ADAPT_SEEDS)")
    init: str | None = Field(None, description="adapter folder to start from (a checkpoint of an interrupted run, "
                                               "or an earlier stage); same rank and target modules")
    checkpoint_every: int = Field(20, ge=1, description="steps between checkpoints of the adapter (<out>.checkpoint/)")


def corpus(runtime, names: Sequence[str], n_tasks: int, seed0: int, max_len: int) -> list[TrainSeq]:
    """`n_tasks` fresh tasks round-robin over the families, each one sequence with the demo loss."""
    from eval.suites.families import make_task
    seqs, seed = [], seed0
    while len(seqs) < n_tasks:
        for name in names:
            task = make_task(name, seed)
            demos = [(e.input, e.output) for e in task.train]
            seq = encode_item(runtime, demos, task.test[0].input, task.test[0].output, task.kind)
            if len(seq.ids) <= max_len:
                seqs.append(seq)
        seed += 1
    return seqs[:n_tasks]


def adapt(runtime, cfg: AdaptConfig, out_dir: Path, progress: Progress = no_progress) -> dict:
    """Train, save the adapter (peft format, bf16), the loss curve and a stats JSON; return the stats."""
    import torch

    from eval.suites.families import families
    from eval.suites.families.registry import ADAPT_SEEDS
    from strategies.ttt.adapters import LoraSettings, attached

    names = cfg.families or [f.name for f in families(split="adapt")]
    unknown = set(names) - {f.name for f in families(split="adapt")}
    if unknown:
        raise ValueError(f"not adapt families (held-out families never train here): {sorted(unknown)}")
    steps = max(1, int(cfg.minutes * 60 * cfg.tokens_per_s / cfg.batch_tokens))
    mean_len = 256  # measured mean tokens per adapt-family task; the step cap below is what binds
    n_tasks = int(steps * cfg.batch_tokens / mean_len * 1.2)
    progress("building corpus", {"tasks": n_tasks})
    seqs = corpus(runtime, names, n_tasks, cfg.seed, cfg.max_len)
    val_seed = cfg.seed + 500_000  # still inside ADAPT_SEEDS, far from the training seeds
    assert val_seed in ADAPT_SEEDS
    val = corpus(runtime, names, cfg.n_val, val_seed, cfg.max_len)

    lora = LoraSettings(rank=cfg.rank, alpha=cfg.alpha, targets=LORA_TARGETS)
    tcfg = TrainConfig(lr=cfg.lr, epochs=1.0, max_steps=steps, batch_tokens=cfg.batch_tokens, max_batch=32,
                       eval_every=cfg.eval_every, patience=10**9)
    pad = runtime.tokenizer.pad_token_id
    # "default": peft saves that adapter at the folder's top level, where Runtime.load looks for it.
    # `attached` puts the runtime's base back as it was (weights, requires_grad flags), even on failure.
    ckpt = checkpoint_dir(out_dir)
    with attached(runtime, "default", lora) as model:
        if cfg.init:
            _load_init(model, Path(cfg.init), cfg.rank)
        val_before = eval_loss(model, val, pad, tcfg)
        deadline = time.monotonic() + cfg.minutes * 60 * 1.25

        def saving(stage: str, info: dict) -> None:   # a killed run loses at most `checkpoint_every` steps
            progress(stage, info)
            if stage == "training" and info["step"] % cfg.checkpoint_every == 0 and info["step"] < info["of"]:
                model.save_pretrained(ckpt)
                (ckpt / "checkpoint.json").write_text(json.dumps({**info, "resume": f"--init {ckpt}"}))

        stats = train(model, seqs, tcfg, pad, val=val, progress=saving, should_stop=lambda: time.monotonic() > deadline)
        val_after = eval_loss(model, val, pad, tcfg)
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out_dir)
    _to_bf16(out_dir / "adapter_model.safetensors")
    shutil.rmtree(ckpt, ignore_errors=True)
    result = {
        "families": names, "n_train_tasks": len(seqs), "n_val_tasks": len(val), "steps": stats.steps,
        "tokens": stats.tokens, "wall_s": round(stats.wall_s, 1), "tokens_per_s": round(stats.tokens / stats.wall_s, 1),
        "final_train_loss": round(sum(stats.losses[-10:]) / len(stats.losses[-10:]), 4),
        "val_loss_before": round(val_before, 4), "val_loss_after": round(val_after, 4),
        "val_losses": [round(v, 4) for v in stats.val_losses], "train_losses": [round(v, 4) for v in stats.losses],
        "config": cfg.model_dump(), "lora_targets": LORA_TARGETS,
        "base_params": runtime.n_params, "torch_threads": torch.get_num_threads(),
        "init": _init_record(cfg.init),
    }
    (out_dir / "training.json").write_text(json.dumps(result, indent=1))
    _plot(result, out_dir / "loss.png")
    return result


def checkpoint_dir(out_dir: Path) -> Path:
    """Where a run keeps its latest adapter while it trains: beside the output, never inside it (the output
    folder is what gets committed)."""
    return out_dir.with_name(out_dir.name + ".checkpoint")


def _load_init(model, init: Path, rank: int) -> None:
    """Start the attached adapter from the weights saved in `init` (rank and targets must match)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file
    conf, weights = init / "adapter_config.json", init / "adapter_model.safetensors"
    if not (conf.is_file() and weights.is_file()):
        raise ValueError(f"--init {init}: not a peft adapter folder (adapter_config.json and "
                         f"adapter_model.safetensors expected)")
    saved = json.loads(conf.read_text())
    if saved.get("r") != rank or sorted(saved.get("target_modules") or []) != sorted(LORA_TARGETS):
        raise ValueError(f"--init {init}: rank {saved.get('r')} on {saved.get('target_modules')}, "
                         f"but this run trains rank {rank} on {LORA_TARGETS}")
    result = set_peft_model_state_dict(model, load_file(weights))
    missing = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]
    if missing:
        raise ValueError(f"--init {init}: {len(missing)} LoRA weights missing, e.g. {missing[0]}")


def _init_record(init: str | None) -> dict | None:
    """What the run started from: the folder, and its own training record when it has one (a stage chain)."""
    if not init:
        return None
    rec = Path(init) / "training.json"
    earlier = json.loads(rec.read_text()) if rec.is_file() else None
    keep = ("steps", "tokens", "wall_s", "val_loss_after", "init")
    return {"from": str(init), "earlier": {k: earlier.get(k) for k in keep} if earlier else None}


def _to_bf16(path: Path) -> None:
    """Halve the committed file: LoRA weights are merged into an fp32 base, bf16 rounding is harmless."""
    import torch
    from safetensors.torch import load_file, save_file
    save_file({k: v.to(torch.bfloat16) for k, v in load_file(path).items()}, path)


def _plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(1, len(result["train_losses"]) + 1), result["train_losses"], lw=0.8, label="train (per step)")
    every = result["config"]["eval_every"]
    ax.plot([every * (i + 1) for i in range(len(result["val_losses"]))], result["val_losses"], "o-", label="held-out adapt tasks")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("answer-token NLL")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
