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
