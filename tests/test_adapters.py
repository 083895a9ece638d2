"""Specification of the adapter lifecycle: base weights bit-exact after any run, and the adapter cache."""
import pytest
import torch

from strategies.ttt.adapters import AdapterCache, LoraSettings, attached, cache_key, folded, merged, param_fingerprint
from strategies.ttt.data import DataConfig, ttt_sequences
from strategies.ttt.train import TrainConfig, train

LORA = LoraSettings(rank=4, alpha=8)
FAST = TrainConfig(max_steps=3, batch_tokens=256, bf16=False, lr=1e-2)


pytestmark = pytest.mark.usefixtures("one_thread")


class Boom(RuntimeError):
    pass


@pytest.fixture
def seqs(tiny_rt, text_task):
    return ttt_sequences(text_task, tiny_rt, DataConfig(n_augment=1, n_val=0))[0]


def lora_state(peft_model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in peft_model.named_parameters() if "lora_" in k}


def assert_clean(rt, base, fingerprint):
    from peft.tuners.tuners_utils import BaseTunerLayer
    assert rt.model is base
    assert not any(isinstance(m, BaseTunerLayer) for m in base.modules())
    assert all(p.requires_grad for p in base.parameters())
    assert param_fingerprint(base) == fingerprint


def test_base_weights_are_bit_exact_after_training(tiny_rt, seqs):
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        assert tiny_rt.model is peft_model                     # generation goes through the adapter
        start = lora_state(peft_model)
        stats = train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id)
        assert stats.steps >= 1
        assert any(not torch.equal(start[k], v) for k, v in lora_state(peft_model).items())
        assert param_fingerprint(peft_model) == before         # only the adapter moved
    assert_clean(tiny_rt, base, before)


def test_base_weights_are_bit_exact_after_a_failure_mid_training(tiny_rt, seqs):
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)

    def progress(stage, info):
        if info.get("step") == 2:
            raise Boom("cancelled from the progress callback")

    with pytest.raises(Boom):
        with attached(tiny_rt, "ttt", LORA) as peft_model:
            train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id, progress=progress)
    assert_clean(tiny_rt, base, before)


def test_base_weights_are_bit_exact_after_should_stop_raises(tiny_rt, seqs):
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)

    def should_stop():
        raise Boom("the caller went away")

    with pytest.raises(Boom):
        with attached(tiny_rt, "ttt", LORA) as peft_model:
            train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id, should_stop=should_stop)
    assert_clean(tiny_rt, base, before)


def _logits(rt, ids):
    with torch.no_grad():
        return rt.model(input_ids=ids).logits


def test_merged_answers_like_the_unmerged_adapter_and_restores_the_weights_bit_for_bit(tiny_rt, seqs):
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    ids = torch.tensor([seqs[0].ids[:24]])
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id)
        unmerged = _logits(tiny_rt, ids)
        with merged(peft_model, "ttt"):
            assert param_fingerprint(peft_model) != before     # the update really is in the base weights
            folded = _logits(tiny_rt, ids)
        assert param_fingerprint(peft_model) == before
        assert torch.equal(_logits(tiny_rt, ids), unmerged)    # the adapter is live again after the merge
    assert torch.allclose(folded, unmerged, atol=1e-4)
    assert_clean(tiny_rt, base, before)


def test_folded_answers_like_the_merged_adapter_from_its_state_dict_alone(tiny_rt, seqs):
    from peft import get_peft_model_state_dict
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    ids = torch.tensor([seqs[0].ids[:24]])
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id)
        state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(peft_model, adapter_name="ttt").items()}
        with merged(peft_model, "ttt"):
            via_peft = _logits(tiny_rt, ids)
    plain = _logits(tiny_rt, ids)
    with folded(base, state, LORA):
        via_state = _logits(tiny_rt, ids)
    assert param_fingerprint(base) == before
    assert torch.equal(via_state, via_peft)            # the same update, added the same way
    assert not torch.allclose(via_state, plain)
    with pytest.raises(Boom):
        with folded(base, state, LORA):
            raise Boom("failed while answering")
    assert_clean(tiny_rt, base, before)


def test_folded_refuses_a_state_dict_that_does_not_fit(tiny_rt):
    a = torch.zeros(4, 64)
    with pytest.raises(RuntimeError, match="no layer 'model.layers.9.self_attn.q_proj'"):
        with folded(tiny_rt.model, {"base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight": a,
                                    "base_model.model.model.layers.9.self_attn.q_proj.lora_B.weight": a.T}, LORA):
            pass
    with pytest.raises(RuntimeError, match="no LoRA weights"):
        with folded(tiny_rt.model, {}, LORA):
            pass


def test_merged_restores_the_weights_after_a_failure(tiny_rt, seqs):
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    with pytest.raises(Boom):
        with attached(tiny_rt, "ttt", LORA) as peft_model:
            train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id)
            with merged(peft_model, "ttt"):
                raise Boom("failed while answering")
    assert_clean(tiny_rt, base, before)


def test_fingerprint_sees_a_single_changed_weight(tiny_rt):
    before = param_fingerprint(tiny_rt.model)
    p = next(tiny_rt.model.parameters())
    saved = p.detach().clone()
    with torch.no_grad():
        p.view(-1)[0] += 1e-3
    try:
        assert param_fingerprint(tiny_rt.model) != before
    finally:
        with torch.no_grad():
            p.copy_(saved)
    assert param_fingerprint(tiny_rt.model) == before


def test_attached_does_not_nest(tiny_rt):
    base = tiny_rt.model
    with attached(tiny_rt, "outer", LORA):
        with pytest.raises(RuntimeError, match="already carries an adapter"):
            with attached(tiny_rt, "inner", LORA):
                pass
    assert tiny_rt.model is base


def test_cache_miss_then_hit_loads_the_trained_weights(tiny_rt, seqs):
    cache, key = AdapterCache(), cache_key("demos", "{}", tiny_rt.model_id)
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        assert cache.load(key, peft_model, "ttt") is None
        train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id)
        trained = lora_state(peft_model)
        cache.store(key, peft_model, "ttt", {"steps": 3})
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        assert cache.load(key, peft_model, "ttt") == {"steps": 3}
        assert all(torch.equal(trained[k], v) for k, v in lora_state(peft_model).items())


def test_cache_survives_on_disk(tiny_rt, seqs, tmp_path):
    key = cache_key("demos", "{}", tiny_rt.model_id)
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        train(peft_model, seqs, FAST, tiny_rt.tokenizer.pad_token_id)
        trained = lora_state(peft_model)
        AdapterCache(disk=tmp_path).store(key, peft_model, "ttt", {"steps": 3})
    assert (tmp_path / key / "adapter_model.safetensors").exists()
    fresh = AdapterCache(disk=tmp_path)                         # a new process: nothing in memory
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        assert fresh.load(key, peft_model, "ttt") == {"steps": 3}
        assert all(torch.equal(trained[k], v) for k, v in lora_state(peft_model).items())


def test_cache_forgets_the_least_recently_used(tiny_rt):
    cache = AdapterCache(size=2)
    with attached(tiny_rt, "ttt", LORA) as peft_model:
        for key in ("a", "b"):
            cache.store(key, peft_model, "ttt", {})
        cache.load("a", peft_model, "ttt")                      # "a" is now the most recent
        cache.store("c", peft_model, "ttt", {})
    assert "a" in cache and "c" in cache and "b" not in cache


def test_cache_key_depends_on_demos_settings_and_model():
    keys = {cache_key("d1", "{}", "m"), cache_key("d2", "{}", "m"), cache_key("d1", "{\"r\": 8}", "m"),
            cache_key("d1", "{}", "other")}
    assert len(keys) == 4
