"""The adaptation stage on the tiny model: a peft adapter in bf16, its stats and loss curve, the base untouched,
and held-out families refused."""
from __future__ import annotations

import json

import pytest

from strategies.adapt import AdaptConfig, adapt

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
