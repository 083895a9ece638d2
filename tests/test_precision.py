"""bf16 generation on request: the fp32 weights come back bit for bit, the prefix cache keeps the two
precisions apart, the setting is validated, and the 2-D output-layer path gives the model's own logits."""
from __future__ import annotations

import pytest
import torch

from strategies.runtime.prompt_cache import PrefixCache
from strategies.runtime.precision import infer_dtype_from_env, inference_precision
from strategies.serialize import render
from strategies.ttt.adapters import param_fingerprint

pytestmark = pytest.mark.usefixtures("one_thread")

DEMOS = [("good day", "GOOD DAY"), ("red fox", "RED FOX"), ("blue sky", "BLUE SKY")]


def test_inside_every_parameter_is_bf16_and_afterwards_the_fp32_tensors_are_back(tiny_rt):
    model = tiny_rt.model
    before = param_fingerprint(model)
    storage = [p.data_ptr() for p in model.parameters()]
    with inference_precision(model, torch.bfloat16):
        assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert [p.data_ptr() for p in model.parameters()] == storage   # the very same fp32 tensors
    assert param_fingerprint(model) == before


def test_an_exception_inside_still_restores_the_weights(tiny_rt):
    before = param_fingerprint(tiny_rt.model)
    with pytest.raises(RuntimeError, match="boom"):
        with inference_precision(tiny_rt.model, torch.bfloat16):
            raise RuntimeError("boom")
    assert {p.dtype for p in tiny_rt.model.parameters()} == {torch.float32}
    assert param_fingerprint(tiny_rt.model) == before


def test_float32_changes_nothing(tiny_rt):
    with inference_precision(tiny_rt.model, torch.float32):
        assert {p.dtype for p in tiny_rt.model.parameters()} == {torch.float32}


def test_the_setting_comes_from_the_environment_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.delenv("TTTC_INFER_DTYPE", raising=False)
    assert infer_dtype_from_env() == torch.float32
    for raw in ("bf16", "bfloat16", " BF16 "):
        monkeypatch.setenv("TTTC_INFER_DTYPE", raw)
        assert infer_dtype_from_env() == torch.bfloat16
    monkeypatch.setenv("TTTC_INFER_DTYPE", "fp8")
    with pytest.raises(ValueError, match="TTTC_INFER_DTYPE='fp8'.*float32 or bfloat16"):
        infer_dtype_from_env()


def test_bf16_generation_runs_restores_the_weights_and_keeps_its_own_prefix_cache(tiny_rt):
    rt = tiny_rt
    kept, rt.prefix_cache = rt.prefix_cache, PrefixCache(max_bytes=2**26)
    prompts = [render(d, "hello world", "text").prompt for d in (DEMOS, DEMOS[::-1])]
    tail = render([], "hello world", "text").prompt
    fixed = [len(p) - len(tail) for p in prompts]
    before = param_fingerprint(rt.model)
    fp32 = rt.generate(prompts, "text", 5, prefix_chars=fixed, cache_tag="w")
    rt.infer_dtype = torch.bfloat16
    try:
        low = rt.generate(prompts, "text", 5, prefix_chars=fixed, cache_tag="w")
        assert low.cached_tokens == 0   # fp32 keys/values are not reused for bf16 weights
        again = rt.generate(prompts, "text", 5, prefix_chars=fixed, cache_tag="w")
        assert again.cached_tokens > 0 and again.texts == low.texts
        assert len(low.texts) == 2 and all(e >= 0 for e in low.first_token_entropy)
        rt.infer_dtype = torch.float32
        assert param_fingerprint(rt.model) == before
        assert rt.generate(prompts, "text", 5, prefix_chars=fixed, cache_tag="w").texts == fp32.texts
    finally:
        rt.infer_dtype, rt.prefix_cache = torch.float32, kept


def test_last_position_logits_through_the_2d_output_layer_are_the_models_own(tiny_rt):
    from strategies.runtime.decode import decoder_and_head
    rt = tiny_rt
    ids, mask = rt._batch([rt.encode("in: a b c\nout:"), rt.encode("in: x\nout:")], left=True)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        want = rt.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1]
        decoder, head = decoder_and_head(rt.model)
        got = head(decoder(input_ids=ids, attention_mask=mask, position_ids=positions).last_hidden_state[:, -1])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_a_model_with_soft_capped_logits_keeps_the_models_own_path(tiny_rt):
    from strategies.runtime.decode import decoder_and_head
    rt = tiny_rt
    rt.model.config.final_logit_softcapping = 30.0
    try:
        assert decoder_and_head(rt.model) is None
    finally:
        rt.model.config.final_logit_softcapping = None


def test_a_runtime_built_for_bf16_answers_logs_under_its_own_model_id(monkeypatch, tiny_rt):
    from strategies.runtime import Runtime
    monkeypatch.setenv("TTTC_INFER_DTYPE", "bf16")
    rt = Runtime(tiny_rt.model, tiny_rt.tokenizer, "m", torch.device("cpu"))
    assert rt.infer_dtype == torch.bfloat16 and rt.model_id == "m@bf16"
    monkeypatch.setenv("TTTC_INFER_DTYPE", "float32")
    assert Runtime(tiny_rt.model, tiny_rt.tokenizer, "m", torch.device("cpu")).model_id == "m"


def test_answer_logprobs_from_the_answer_positions_only_match_the_full_logits(tiny_rt):
    """token_logprobs runs the output layer at the answer positions only; the numbers are the model's."""
    rt = tiny_rt
    prompts, answers = ["in: red\nout:", "in: a much longer prompt\nout:", "x"], [" RED\n\n", " X\n\n", " y z"]
    got, _ = rt.token_logprobs(prompts, answers)
    for prompt, answer, lps in zip(prompts, answers, got):
        p, a = rt.encode(prompt), rt.encode(answer)
        with torch.inference_mode():
            logits = rt.model(input_ids=torch.tensor([p + a])).logits[0].float()
        want = torch.log_softmax(logits, -1)[len(p) - 1:len(p) + len(a) - 1].gather(-1, torch.tensor(a)[:, None])[:, 0]
        assert len(lps) == len(a)
        torch.testing.assert_close(torch.tensor(lps), want, rtol=1e-4, atol=1e-4)


def test_bf16_copies_are_reused_while_a_weight_is_unchanged_and_made_again_when_it_changes(tiny_rt):
    from strategies.runtime.precision import Bf16Copies
    copies = Bf16Copies()
    w = next(tiny_rt.model.parameters())
    first = copies.get(w)
    assert first.dtype == torch.bfloat16 and copies.get(w) is first
    saved = w.data.clone()
    try:
        with torch.no_grad():
            w.data += 0.25 * torch.randn_like(w)   # as peft merges: in place through .data, every element
        again = copies.get(w)
        assert again is not first
        torch.testing.assert_close(again, w.data.to(torch.bfloat16), rtol=0, atol=0)
    finally:
        w.data.copy_(saved)
    assert torch.equal(copies.get(w), saved.to(torch.bfloat16))


def test_generation_reuses_the_copies_and_a_folded_change_is_seen(tiny_rt):
    """Two bf16 answers with the same weights cast once; a weight rewritten in place between them is recast."""
    rt = tiny_rt
    prompts = ["in: a b\nout:", "in: c\nout:"]
    rt.infer_dtype = torch.bfloat16
    try:
        one = rt.generate(prompts, "text", 4).texts
        first = {id(p): rt._bf16_copies.get(p) for p in rt.model.parameters()}
        assert rt.generate(prompts, "text", 4).texts == one
        assert all(rt._bf16_copies.get(p) is first[id(p)] for p in rt.model.parameters())
        head = rt.model.get_output_embeddings().weight
        saved = head.data.clone()
        try:
            head.data.mul_(-1.0)   # every logit flips: a stale copy would answer as before
            flipped = rt.generate(prompts, "text", 4).texts
            assert rt._bf16_copies.get(head) is not first[id(head)]
        finally:
            head.data.copy_(saved)
        assert flipped != one
    finally:
        rt.infer_dtype = torch.float32
