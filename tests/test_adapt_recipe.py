"""The adaptation stage on the tiny model: a peft adapter in bf16, its stats and loss curve, the base untouched,
and held-out families refused."""
from __future__ import annotations

import json

import pytest

from eval.recipes.adapt import AdaptConfig, adapt

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(minutes=0.05, tokens_per_s=400.0, batch_tokens=512, n_val=2, eval_every=1, max_len=512,
            families=["uppercase", "first_word"])


def test_adapt_saves_a_peft_adapter_with_stats_and_loss_curve_and_leaves_the_base_as_it_was(tiny_rt, tmp_path):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file

    from strategies.ttt.adapters import param_fingerprint
    from strategies.runtime import tiny_runtime
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    flags = [p.requires_grad for p in base.parameters()]
    stats = adapt(tiny_rt, AdaptConfig(**TINY), tmp_path / "a")
    assert tiny_rt.model is base and param_fingerprint(base) == before
    assert [p.requires_grad for p in base.parameters()] == flags
    files = {p.name for p in (tmp_path / "a").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "training.json", "loss.png"} <= files
    weights = load_file(tmp_path / "a" / "adapter_model.safetensors")
    assert weights and all(w.dtype == torch.bfloat16 for w in weights.values())
    saved = json.loads((tmp_path / "a" / "training.json").read_text())
    assert saved["steps"] == stats["steps"] >= 1 and saved["tokens"] > 0
    assert saved["families"] == TINY["families"] and saved["val_loss_before"] > 0
    other = tiny_runtime()   # as Runtime.load does: the adapter at the folder's top level, merged into a base
    merged = PeftModel.from_pretrained(other.model, tmp_path / "a").merge_and_unload()
    assert param_fingerprint(merged) != param_fingerprint(tiny_runtime().model)


def test_adapt_refuses_held_out_families(tiny_rt, tmp_path):
    with pytest.raises(ValueError, match="held-out families never train here"):
        adapt(tiny_rt, AdaptConfig(**{**TINY, "families": ["uppercase", "digit_sum"]}), tmp_path / "a")
    assert not (tmp_path / "a").exists()


def test_a_run_checkpoints_its_adapter_and_a_later_run_starts_from_it(tiny_rt, tmp_path):
    """An interrupted adaptation keeps its adapter every `checkpoint_every` steps beside the output;
    `init` starts a new run from saved weights (the checkpoint, or an earlier stage's adapter)."""
    import torch
    from safetensors.torch import load_file

    from eval.recipes import adapt as adapt_mod
    seen = []

    def stop_at_third_step(stage, info):
        if stage == "training":
            seen.append(info["step"])
            if info["step"] == 3:
                raise KeyboardInterrupt
    cfg = AdaptConfig(**{**TINY, "minutes": 1.0, "checkpoint_every": 2})
    out = tmp_path / "a"
    with pytest.raises(KeyboardInterrupt):
        adapt(tiny_rt, cfg, out, stop_at_third_step)
    ckpt = adapt_mod.checkpoint_dir(out)
    assert ckpt == tmp_path / "a.checkpoint" and not out.exists()
    assert json.loads((ckpt / "checkpoint.json").read_text())["step"] == 2
    saved = load_file(ckpt / "adapter_model.safetensors")

    first = adapt(tiny_rt, AdaptConfig(**{**TINY, "init": str(ckpt)}), out)
    assert first["init"]["from"] == str(ckpt) and not ckpt.exists()   # a finished run removes its checkpoint
    # the new run started from the checkpoint's weights: its loss before training is the checkpoint's
    fresh = adapt(tiny_rt, AdaptConfig(**TINY), tmp_path / "b")
    assert first["val_loss_before"] < fresh["val_loss_before"]
    assert all(torch.isfinite(w).all() for w in saved.values())
    chained = adapt(tiny_rt, AdaptConfig(**{**TINY, "init": str(out)}), tmp_path / "c")
    assert chained["init"]["earlier"]["steps"] == first["steps"]


def test_init_from_a_folder_that_does_not_fit_is_refused(tiny_rt, tmp_path):
    with pytest.raises(ValueError, match="not a peft adapter folder"):
        adapt(tiny_rt, AdaptConfig(**{**TINY, "init": str(tmp_path)}), tmp_path / "a")
    adapt(tiny_rt, AdaptConfig(**TINY), tmp_path / "r16")
    with pytest.raises(ValueError, match="rank 16 .* but this run trains rank 8"):
        adapt(tiny_rt, AdaptConfig(**{**TINY, "rank": 8, "init": str(tmp_path / "r16")}), tmp_path / "b")
