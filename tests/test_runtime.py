"""The model runtime: cost records, batched greedy generation with per-prompt caps, answer scoring, and
loading any Hugging Face causal LM from a local folder."""
from __future__ import annotations

import pytest
import torch

from strategies.cost import Cost
from strategies.serialize import parse_answer, render

pytestmark = pytest.mark.usefixtures("one_thread")


def test_flops_are_2_params_tokens_to_infer_and_6_to_train():
    c = Cost.inference(params=1000, tokens_in=30, tokens_out=10, wall_s=0.5)
    assert (c.flops, c.tokens_in, c.tokens_out, c.wall_s) == (2 * 1000 * 40, 30, 10, 0.5)
    t = Cost.training(params=1000, tokens=300, steps=4, wall_s=2.0)
    assert (t.flops, t.tokens_trained, t.steps) == (6 * 1000 * 300, 300, 4)
    s = c + t
    assert s.flops == c.flops + t.flops and s.wall_s == 2.5 and s.steps == 4


def test_generate_honours_each_prompts_own_cap_and_counts_tokens(tiny_rt):
    prompts = ["in: a\nout:", "in: a longer prompt here\nout:", "in: b\nout:"]
    caps = [1, 5, 3]
    g = tiny_rt.generate(prompts, "text", caps, batch_size=2)
    assert len(g.texts) == len(g.first_token_entropy) == 3
    out = [len(tiny_rt.encode(t)) for t in g.texts]
    assert all(n <= cap for n, cap in zip(out, caps))
    assert g.cost.tokens_in == sum(len(tiny_rt.encode(p)) for p in prompts)
    assert 0 < g.cost.tokens_out <= sum(caps)
    assert g.cost.flops == 2.0 * tiny_rt.n_params * (g.cost.tokens_in + g.cost.tokens_out)
    assert all(e >= 0 for e in g.first_token_entropy)


def test_token_logprobs_are_per_answer_token_and_batching_does_not_change_them(tiny_rt):
    prompts, answers = ["in: red\nout:", "in: a much longer prompt\nout:"], [" RED\n\n", " X\n\n"]
    batched, cost = tiny_rt.token_logprobs(prompts, answers, batch_size=2)
    single = [tiny_rt.token_logprobs([p], [a])[0][0] for p, a in zip(prompts, answers)]
    for b, s, a in zip(batched, single, answers):
        assert len(b) == len(tiny_rt.encode(a)) and all(x <= 0 for x in b)
        assert b == pytest.approx(s, abs=1e-4)
    assert cost.tokens_in == sum(len(tiny_rt.encode(p + a)) for p, a in zip(prompts, answers))
    totals, _ = tiny_rt.score(prompts, answers)
    assert totals == pytest.approx([sum(b) for b in batched], abs=1e-4)


def test_a_local_hugging_face_folder_loads_by_path(tiny_rt, tmp_path):
    from strategies.runtime import Runtime
    tiny_rt.model.save_pretrained(tmp_path)
    tiny_rt.tokenizer.save_pretrained(tmp_path)
    rt = Runtime.load(str(tmp_path))
    assert rt.model_id == str(tmp_path) and rt.device.type in ("cpu", "cuda")
    assert rt.n_params == tiny_rt.n_params
    ids = torch.tensor([tiny_rt.encode("in: a\nout:")])
    with torch.no_grad():
        assert torch.allclose(rt.model(ids).logits, tiny_rt.model(ids).logits, atol=1e-5)


def test_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path):
    from strategies.runtime.models import ModelNotFound
    from strategies.runtime import Runtime
    with pytest.raises(ModelNotFound, match="not an embedded model .* and not a folder with a Hugging Face config.json"):
        Runtime.load(str(tmp_path))


@pytest.mark.slow
def test_the_embedded_model_stops_at_the_end_of_the_answer(real_rt):
    demos = [("cat", "CAT"), ("dog", "DOG"), ("red fox", "RED FOX")]
    prompt = render(demos, "blue sky", "text").prompt
    g = real_rt.generate([prompt], "text", 40)
    assert g.cost.tokens_out < 40   # stopped by the end-of-answer marker, not by the cap
    assert parse_answer(g.texts[0], "text") is not None


def test_the_runtime_satisfies_the_protocol_strategies_are_typed_with(tiny_rt):
    from strategies.runtime.protocol import ModelRuntime
    assert isinstance(tiny_rt, ModelRuntime)
    assert not isinstance(object(), ModelRuntime)
