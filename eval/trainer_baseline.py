"""The baseline our TTT loop is timed against: the same sequences, LoRA, seed, steps and lr schedule through a plain
transformers.Trainer + peft, padded to the longest in each batch, with the model's own full-vocabulary loss."""
from __future__ import annotations

import math
import random
import tempfile
import time
from typing import Any

import torch


class PadCollator:
    """Pad to the longest in the batch (right), labels -100 where the loss mask is off; counts tokens per batch."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id
        self.counts: list[tuple[int, int]] = []   # (real tokens, padded tokens) per batch, in order

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(r["ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["ids"])
            ids[i, :n] = torch.tensor(r["ids"])
            attn[i, :n] = 1
            keep = torch.tensor(r["mask"], dtype=torch.bool)
            labels[i, :n] = torch.where(keep, ids[i, :n], torch.full_like(ids[i, :n], -100))
        self.counts.append((int(attn.sum()), ids.numel()))
        return {"input_ids": ids, "attention_mask": attn, "labels": labels}


def run_trainer(task, rt, cfg, steps: int, fp0: str, answer: bool = True) -> dict:
    """The same sequences, LoRA, seed, steps and lr schedule, trained by a plain transformers.Trainer with the
    model's own full-vocabulary loss; then the same view-voting answer under the trained adapter."""
    import numpy as np
    from transformers import PrinterCallback, ProgressCallback, Trainer, TrainingArguments

    from strategies.task import Prediction, score
    from strategies.ttt.adapters import attached, param_fingerprint, seeded
    from strategies.ttt.data import ttt_sequences
    from strategies.ttt.strategy import ADAPTER_NAME, answer_with_views
    from strategies.ttt.train import make_batches

    tc = cfg.train
    t_all = time.perf_counter()
    data_cfg = cfg.data if tc.eval_every else cfg.data.model_copy(update={"n_val": 0})   # as TTT.run does
    seqs, _ = ttt_sequences(task, rt, data_cfg)
    # what our loop plans for these sequences (train.py): total steps, warm-up steps, sequences per step
    n_batches = len(make_batches(seqs, tc.batch_tokens, tc.max_batch, random.Random(tc.seed)))
    total = max(1, math.ceil(n_batches * tc.epochs))
    total = min(total, tc.max_steps) if tc.max_steps is not None else total
    warmup, per_step = max(1, int(total * tc.warmup_frac)), len(seqs) / n_batches
    batch = max(1, round(per_step))
    collator = PadCollator(rt.tokenizer.pad_token_id)
    dataset = [{"ids": list(s.ids), "mask": list(s.loss_mask)} for s in seqs]
    base = rt.model
    use_cache = getattr(base.config, "use_cache", None)
    py_state, np_state = random.getstate(), np.random.get_state()   # Trainer reseeds random/numpy/torch globally
    out: dict[str, Any] = {"steps": steps, "batch_size": batch, "ours_mean_per_step": round(per_step, 3),
                           "planned_total": total, "warmup": warmup, "n_items": len(seqs)}
    try:
        with seeded(tc.seed, rt.device), attached(rt, ADAPTER_NAME, cfg.lora) as peft_model, \
                tempfile.TemporaryDirectory(prefix="bench_ttt_") as tmp:
            params = [p for p in peft_model.parameters() if p.requires_grad]
            opt = torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
            # our warm-up + cosine, planned over our total: identical lr at every step (HF's own cosine gives lr 0 at step 0)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warmup if s < warmup else
                                                      0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
            args = TrainingArguments(
                output_dir=tmp, max_steps=steps, per_device_train_batch_size=batch, gradient_accumulation_steps=1,
                learning_rate=tc.lr, weight_decay=tc.weight_decay, max_grad_norm=tc.grad_clip,
                bf16=tc.bf16, use_cpu=rt.device.type == "cpu", seed=tc.seed, report_to=[],
                save_strategy="no", eval_strategy="no", logging_strategy="steps", logging_steps=1,
                disable_tqdm=True, remove_unused_columns=False, dataloader_pin_memory=False, dataloader_num_workers=0)
            t0 = time.perf_counter()
            trainer = Trainer(model=peft_model, args=args, train_dataset=dataset, data_collator=collator,
                              optimizers=(opt, sched))
            for cb in (PrinterCallback, ProgressCallback):
                trainer.remove_callback(cb)
            out["setup_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            trainer.train()
            out["train_s"] = round(time.perf_counter() - t0, 3)
            out["losses"] = [round(h["loss"], 4) for h in trainer.state.log_history if "loss" in h]
            out["steps_done"] = trainer.state.global_step
            used = collator.counts[:trainer.state.global_step]
            out["tokens"], out["tokens_padded"] = sum(c[0] for c in used), sum(c[1] for c in used)
            # undo what Trainer/accelerate changed: autocast-wrapped forward, config.use_cache=False, train mode
            peft_model.__dict__.pop("forward", None)
            peft_model.__dict__.pop("_original_forward", None)
            if use_cache is not None:
                base.config.use_cache = use_cache
            peft_model.eval()
            del trainer
            if answer:
                attempts, _, _, _ = answer_with_views(task, rt, cfg)
                out["correct"] = score(task, Prediction(attempts=attempts))
                out["attempts"] = attempts
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    out["wall_s"] = round(time.perf_counter() - t_all, 3)
    out["base_bit_exact"] = param_fingerprint(rt.model) == fp0
    return out
