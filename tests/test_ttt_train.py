"""The training loop's pieces: length-bucketed batches, the loss computed only at labelled positions, and
training that lowers the loss of the sequences it sees."""
from __future__ import annotations

import random

import pytest
import torch

from strategies.ttt.train import TrainConfig, TrainSeq, batch_loss, make_batches, train

pytestmark = pytest.mark.usefixtures("one_thread")


def seq(n: int, labelled: int = 3, weight: float = 1.0, start: int = 5) -> TrainSeq:
    ids = tuple((start + i) % 500 + 10 for i in range(n))
    return TrainSeq(ids, (False,) * (n - labelled) + (True,) * labelled, weight)


def test_batches_hold_every_sequence_once_under_the_token_budget_and_pad_little():
    rng = random.Random(0)
    seqs = [seq(n, start=i) for i, n in enumerate(rng.choice([20, 21, 60, 61, 200, 210]) for _ in range(60))]
    batches = make_batches(seqs, batch_tokens=640, max_batch=8, rng=random.Random(1))
    assert sorted(s.ids for b in batches for s in b) == sorted(s.ids for s in seqs)
    for b in batches:
        width = max(len(s.ids) for s in b)
        assert len(b) <= 8 and (width * len(b) <= 640 or len(b) == 1)
    real = sum(len(s.ids) for s in seqs)
    padded = sum(max(len(s.ids) for s in b) * len(b) for b in batches)
    assert padded / real < 1.1   # bucketing: lengths 20..210 mixed at random would pad far more


def test_loss_at_labelled_positions_equals_full_logits_cross_entropy(tiny_rt):
    from strategies.ttt.train import _collate
    seqs = [seq(12, labelled=4, weight=1.0), seq(7, labelled=2, weight=3.0, start=40)]
    ids, attn, mask, w = _collate(seqs, tiny_rt.tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        ours = batch_loss(tiny_rt.model, ids, attn, mask, w)
        logits = tiny_rt.model(input_ids=ids, attention_mask=attn).logits
    nll = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    m = mask[:, 1:].float()
    expected = ((nll * m).sum(1) * w).sum() / (m.sum(1) * w).sum()
    assert ours.item() == pytest.approx(expected.item(), rel=1e-4)


def test_chunked_logits_give_the_same_loss_and_gradients(tiny_rt, monkeypatch):
    """Past the logits budget the answer positions go through the output layer in checkpointed chunks."""
    from strategies.ttt import train as train_mod
    seqs = [seq(12, labelled=9, weight=1.0), seq(7, labelled=5, weight=3.0, start=40)]
    ids, attn, mask, w = train_mod._collate(seqs, tiny_rt.tokenizer.pad_token_id, "cpu")
    head = tiny_rt.model.get_output_embeddings().weight

    def loss_and_grad():
        tiny_rt.model.zero_grad()
        loss = batch_loss(tiny_rt.model, ids, attn, mask, w)
        loss.backward()
        return loss.item(), head.grad.clone()

    whole, g_whole = loss_and_grad()
    monkeypatch.setattr(train_mod, "LOGITS_BUDGET", 3 * head.shape[0])   # 3 positions per chunk
    calls = []
    original = train_mod._nll
    monkeypatch.setattr(train_mod, "_nll", lambda *a: calls.append(a[1].shape[0]) or original(*a))
    chunked, g_chunked = loss_and_grad()
    tiny_rt.model.zero_grad()
    assert max(calls) == 3 and sum(calls) > 13   # chunks of 3, and recomputed in the backward pass
    assert chunked == pytest.approx(whole, rel=1e-6)
    assert torch.allclose(g_chunked, g_whole, atol=1e-6)


def test_unlabelled_positions_do_not_change_the_loss(tiny_rt):
    from strategies.ttt.train import _collate
    a = seq(10, labelled=3)
    b = TrainSeq((999,) + a.ids[1:7] + a.ids[7:], a.loss_mask, 1.0)   # differs only at an unlabelled, unread position 0
    pad = tiny_rt.tokenizer.pad_token_id
    with torch.no_grad():
        la = batch_loss(tiny_rt.model, *_collate([a], pad, "cpu")).item()
        lb = batch_loss(tiny_rt.model, *_collate([a, a], pad, "cpu")).item()
        lc = batch_loss(tiny_rt.model, *_collate([b], pad, "cpu")).item()
    assert la == pytest.approx(lb, rel=1e-5)      # a batch of copies: the same mean
    assert la != pytest.approx(lc, rel=1e-6)      # but the context does matter to the labelled tokens


def test_training_lowers_the_loss_and_reports_real_tokens(tiny_rt):
    from strategies.ttt.adapters import LoraSettings, attached
    seqs = [seq(16, labelled=6, start=i * 3) for i in range(6)]
    with attached(tiny_rt, "t", LoraSettings(rank=8, alpha=16)) as model:
        cfg = TrainConfig(lr=5e-3, epochs=100, max_steps=30, bf16=False, batch_tokens=64, warmup_frac=0.1)
        stats = train(model, seqs, cfg, tiny_rt.tokenizer.pad_token_id)
        assert stats.steps == 30 and len(stats.losses) == 30
        # batches of 4 and 2 sequences of 16 tokens, alternating within each epoch: 15 epochs of 96 tokens
        assert stats.tokens == 15 * 6 * 16
        assert sum(stats.losses[-5:]) < sum(stats.losses[:5])


def test_training_without_a_trainable_parameter_or_data_is_refused():
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(torch.nn.Linear(2, 2).requires_grad_(False), [seq(4)], TrainConfig(max_steps=1, bf16=False), 0)
    with pytest.raises(ValueError, match="no training sequences"):
        train(torch.nn.Linear(2, 2), [], TrainConfig(max_steps=1, bf16=False), 0)


def _train_once(rt, lowp_on: bool, monkeypatch) -> tuple[list[float], list[torch.Tensor], list]:
    """Two bf16 steps on the tiny model with its frozen weights cast once (lowp.py) or by autocast each time."""
    from contextlib import contextmanager

    import strategies.ttt.train as train_module
    from strategies.ttt.adapters import LoraSettings, attached, seeded

    @contextmanager
    def autocast_only(model, enabled=True):
        yield None

    monkeypatch.setattr(train_module, "frozen_in_bf16", train_module.frozen_in_bf16 if lowp_on else autocast_only)
    seen = []

    def progress(stage, info):   # what the weights look like while training
        linear = [m for m in rt.model.modules() if type(m) is torch.nn.Linear and not m.weight.requires_grad]
        seen.append({m.weight.dtype for m in linear} | {rt.model.get_input_embeddings().weight.dtype})

    cfg = TrainConfig(max_steps=2, batch_tokens=64, bf16=True, lr=1e-2)
    with seeded(0, rt.device), attached(rt, "ttt", LoraSettings(rank=4, alpha=8)) as peft_model:
        stats = train(peft_model, [seq(20), seq(24, start=50)], cfg, 0, progress=progress)
        lora = [p.detach().clone() for n, p in peft_model.named_parameters() if "lora_" in n]
    return stats.losses, lora, seen


@pytest.mark.parametrize("tied", [False, True])
def test_frozen_weights_cast_once_train_exactly_as_autocast_and_come_back_in_fp32(tied, monkeypatch):
    from strategies.runtime import tiny_runtime
    from strategies.ttt.adapters import param_fingerprint
    rt = tiny_runtime()
    if tied:
        rt.model.config.tie_word_embeddings = True
        rt.model.tie_weights()
        assert rt.model.lm_head.weight is rt.model.get_input_embeddings().weight
    before = param_fingerprint(rt.model)
    losses, lora, seen = _train_once(rt, True, monkeypatch)
    ref_losses, ref_lora, _ = _train_once(rt, False, monkeypatch)
    assert losses == ref_losses
    assert all(torch.equal(a, b) for a, b in zip(lora, ref_lora))
    assert seen[0] == {torch.bfloat16, torch.float32}     # frozen Linears in bf16, the embedding left in fp32
    assert param_fingerprint(rt.model) == before
    assert all(p.dtype == torch.float32 for p in rt.model.parameters())
