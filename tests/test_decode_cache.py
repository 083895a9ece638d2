"""The key/value cache that grows in place: the same keys, values and mask sizes as transformers' own cache,
step for step (cut-backs, finished rows leaving, sliding windows), and the same greedy answers end to end."""
from __future__ import annotations

import pytest
import torch
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

from strategies.runtime import decode, decode_cache as kv_cache
from strategies.runtime.decode_cache import GrowingLayer, GrowingSlidingLayer, grow_in_place

pytestmark = pytest.mark.usefixtures("one_thread")


def _kv(rows: int, cols: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, 1, cols, 4, generator=g), torch.randn(rows, 1, cols, 4, generator=g)


def _same(a, b) -> None:
    assert a[0].shape == b[0].shape and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("sliding", [False, True])
@pytest.mark.parametrize("prefill", [3, 9, 20])
def test_a_growing_layer_shows_attention_what_transformers_layer_shows(sliding, prefill):
    """A script of writes, cut-backs and row selections, on both layers: every step's visible keys/values,
    mask sizes and length agree. Window 8: prefills below, at and past it."""
    window = 8
    ref = DynamicSlidingWindowLayer(window) if sliding else DynamicLayer()
    k, v = _kv(3, prefill, 0)
    ref.update(k, v)
    if sliding:
        ref.activate_past_recording()
        grown = GrowingSlidingLayer(ref.keys, ref.values, 4, window, ref.cumulative_length)
    else:
        grown = GrowingLayer(ref.keys, ref.values, 4)   # small room: the buffer has to double on the way
    rows = 3
    script = [("w", 4), ("c", -2), ("w", 1), ("w", 5), ("c", -3), ("s", [0, 2]), ("w", 3), ("c", 0),
              ("w", 2), ("c", -1), ("s", [1]), ("w", 6), ("c", -5), ("w", 1)]
    for step, (op, arg) in enumerate(script):
        if op == "w":
            k, v = _kv(rows, arg, step + 1)
            assert grown.get_mask_sizes(arg) == ref.get_mask_sizes(arg)
            _same(grown.update(k, v), ref.update(k, v))
        elif op == "c":
            ref.crop(arg)
            grown.crop(arg)
        else:
            index = torch.tensor(arg)
            ref.batch_select_indices(index)
            grown.batch_select_indices(index)
            rows = len(arg)
        assert grown.get_seq_length() == ref.get_seq_length()


def test_a_cut_back_past_what_a_sliding_layer_holds_is_refused():
    k, v = _kv(1, 10, 0)
    layer = GrowingSlidingLayer(k[:, :, -7:], v[:, :, -7:], 12, sliding_window=8, cumulative_length=10)
    layer.update(*_kv(1, 2, 1))
    with pytest.raises(RuntimeError, match="cannot cut"):
        layer.crop(-10)
    with pytest.raises(ValueError, match="negative"):
        layer.crop(2)


def test_grow_in_place_converts_filled_layers_and_leaves_the_rest():
    from transformers import DynamicCache
    past = DynamicCache()
    past.update(*_kv(2, 5, 0), layer_idx=0)
    before = past.layers[0].keys.clone()
    grow_in_place(past, 10)
    layer = past.layers[0]
    assert isinstance(layer, GrowingLayer) and torch.equal(layer.keys, before)
    assert layer._k.shape[-2] == 15 and past.get_seq_length() == 5
    assert grow_in_place(past, 10).layers[0] is layer      # already growing: kept as it is
    assert grow_in_place(object(), 3) is not None           # not a layered cache: handed back unchanged


# -- end to end: greedy answers with transformers' cache and with the growing one --------------
def _tiny_gemma(vocab: int, pad: int):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=32, sliding_window=12,
                           layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                           max_position_embeddings=512, pad_token_id=pad)
    return Gemma3ForCausalLM(cfg).eval()


@torch.inference_mode()
@pytest.mark.parametrize("width", [1, 2, 4, 9])
def test_greedy_answers_are_the_same_with_the_growing_cache(monkeypatch, tiny_rt, width):
    """Tiny Llama and a tiny Gemma 3 whose 12-column window the prompts overflow; grid and free text."""
    prompts = [tiny_rt.encode(f"in:\n{r}out:\n{r}in:\n{r}out:\n")
               for r in ["1 2 0\n0 1 2\n", "3 3 3 4\n4 3 3 3\n3 3 3 4\n", "5\n6\n5\n6\n5\n"]]
    ids, mask = tiny_rt._batch(prompts, left=True)
    caps = [20, 26, 15]
    gemma = _tiny_gemma(len(tiny_rt.tokenizer), tiny_rt.tokenizer.pad_token_id)
    assert ids.shape[1] > gemma.config.sliding_window
    for model in (tiny_rt.model, gemma):
        for allowed in (tiny_rt.grid_token_ids(), None):
            grown = decode.greedy(model, ids, mask, caps, lambda t: False, allowed=allowed, draft_width=width)
            with monkeypatch.context() as m:
                m.setattr(kv_cache, "grow_in_place", lambda past, extra: past)   # transformers' cache only
                plain = decode.greedy(model, ids, mask, caps, lambda t: False, allowed=allowed, draft_width=width)
            assert grown[0] == plain[0]


def test_the_pass_benchmark_fits_a_line_to_its_passes(tmp_path):
    import json

    from eval.bench_decode_pass import main
    out = tmp_path / "pass.json"
    assert main(["--model", "tiny", "--rows", "2", "--cached", "20", "--widths", "1,3", "--reps", "2",
                 "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert [p["width"] for p in got["passes"]] == [1, 3] and set(got["fit"]) == {"fixed_s", "per_token_s"}
    assert all(p["dynamic_s"] > 0 and p["growing_s"] > 0 for p in got["passes"])


def test_the_pass_benchmark_refuses_bad_widths(capsys):
    from eval.bench_decode_pass import main
    with pytest.raises(SystemExit):
        main(["--widths", "1,wide", "--out", "x.json"])
    assert "--widths" in capsys.readouterr().err
