"""Drafted greedy decoding: prompt-lookup drafts, and the same tokens as plain greedy decoding in fewer steps."""
from __future__ import annotations

import pytest
import torch

from strategies.runtime import speculative
from strategies.runtime.decode import greedy
from strategies.runtime.lookup import NgramIndex

pytestmark = pytest.mark.usefixtures("one_thread")


# -- drafts -----------------------------------------------------------------------------------
def test_a_draft_copies_what_followed_the_latest_earlier_occurrence():
    ix = NgramIndex([1, 2, 3, 4, 9, 1, 2, 3, 5, 6, 7, 1, 2, 3])
    assert ix.draft(3) == [5, 6, 7]            # the latest (1, 2, 3) before the suffix, not the first
    assert ix.draft(1) == [5]
    assert ix.draft(0) == []


def test_the_suffix_never_matches_itself_and_a_fresh_ngram_gives_no_draft():
    assert NgramIndex([5, 6, 7, 8]).draft(4) == []
    assert NgramIndex([1, 1]).draft(3) == []   # (1, 1) is the suffix itself; (1,) is shorter than n_min
    ix = NgramIndex([1, 2, 1, 2])
    assert ix.draft(5) == [1, 2, 1, 2, 1]      # past the end the copy goes on with the period it saw
    assert NgramIndex([0, 0, 0]).draft(4) == [0, 0, 0, 0]   # a run of background cells


def test_the_longest_matching_suffix_wins():
    # (3, 4) last occurred before 8, but (2, 3, 4) only before 7
    ix = NgramIndex([2, 3, 4, 7, 0, 3, 4, 8, 0, 2, 3, 4], n_max=3, n_min=2)
    assert ix.draft(1) == [7]


def test_appending_updates_the_index():
    ix = NgramIndex([4, 5, 6])
    ix.extend([0, 4, 5])
    assert ix.draft(2) == [6, 0]


def test_bad_ngram_bounds_are_refused():
    with pytest.raises(ValueError, match="n_min"):
        NgramIndex([], n_max=2, n_min=3)


# -- the drafted decoder against a model whose greedy choice is known -------------------------
class TokenCache:
    """A stand-in for a key/value cache that keeps each row's token columns, so the fake decoder below
    answers from exactly what the cache holds: a cut in the wrong place changes the tokens."""

    def __init__(self, rows):
        width = max(map(len, rows))                        # left-padded, as the runtime batches prompts
        self.rows = [[None] * (width - len(r)) + list(r) for r in rows]
        self.recording = False

    def activate_past_recording(self):
        self.recording = True

    def crop(self, n):
        assert n <= 0 and self.recording
        if n:
            self.rows = [r[:n] for r in self.rows]

    def batch_select_indices(self, index):
        self.rows = [self.rows[i] for i in index.tolist()]


def rule(history):
    """The fake model's next token: the token after the previous occurrence of the last one, else its
    successor mod 7: a sequence that keeps repeating itself, as grid rows do."""
    last = history[-1]
    for i in range(len(history) - 2, -1, -1):
        if history[i] == last:
            return history[i + 1]
    return (last + 1) % 7


class FakeDecoder:
    def __init__(self):
        self.calls = 0

    def __call__(self, input_ids, attention_mask, position_ids, past_key_values, use_cache):
        self.calls += 1
        cache = past_key_values
        out = []
        for j, row in enumerate(input_ids.tolist()):
            seen = [t for t in cache.rows[j] if t is not None]
            assert position_ids[j, 0].item() == len(seen)            # positions continue the cache
            assert attention_mask.shape[1] == len(cache.rows[j]) + len(row)
            cache.rows[j].extend(row)
            seen = seen + row
            start = len(seen) - len(row)
            out.append([rule(seen[:start + i + 1]) for i in range(len(row))])
        return type("Out", (), {"last_hidden_state": torch.tensor(out)})()


def plain(prompt, cap, done):
    toks, hist = [], list(prompt)
    while True:
        t = rule(hist)
        toks.append(t)
        hist.append(t)
        if len(toks) >= cap or done(toks):
            return toks


@pytest.mark.parametrize("width", [2, 4, 8])
def test_drafted_decoding_gives_plain_greedys_tokens_in_fewer_steps(width):
    prompts = [[1, 2, 3, 4, 1, 2, 3], [5, 0, 2], [3, 3, 6, 1, 3, 3, 6, 2, 3, 3], [4]]
    caps = [30, 25, 40, 1]
    done = lambda t: len(t) >= 3 and t[-3:] == [6, 6, 6]   # noqa: E731 - never holds here: caps end rows
    cache = TokenCache(prompts)
    dec = FakeDecoder()
    first = [rule(p) for p in prompts]
    out = speculative.decode(dec, lambda h: h, cache, torch.ones(4, max(map(len, prompts))),
                             torch.tensor([len(p) - 1 for p in prompts]), first, prompts, caps, done, width)
    assert out == [plain(p, c, done) for p, c in zip(prompts, caps)]
    plain_steps = max(caps) - 1                    # the first token comes from the prefill
    assert dec.calls < plain_steps                 # repeating sequences: most drafts are right
    assert width < 4 or dec.calls <= plain_steps // 3


def test_a_row_that_stops_early_leaves_and_the_others_go_on():
    prompts = [[0, 1, 2, 0, 1], [2, 5]]
    done = lambda t: t[-1] == 2   # noqa: E731
    cache = TokenCache(prompts)
    out = speculative.decode(FakeDecoder(), lambda h: h, cache, torch.ones(2, 5), torch.tensor([4, 1]),
                             [rule(p) for p in prompts], prompts, [20, 20], done, 4)
    assert out == [plain(p, 20, done) for p in prompts]


def test_width_one_is_refused():
    with pytest.raises(ValueError, match="width"):
        speculative.decode(FakeDecoder(), lambda h: h, TokenCache([[1]]), torch.ones(1, 1), torch.tensor([0]),
                           [1], [[1]], [3], lambda t: False, 1)


# -- real models: drafted and plain greedy agree token for token ------------------------------
def _grid_prompts(rt):
    rows = ["1 2 0\n0 1 2\n", "3 3 3 4\n4 3 3 3\n3 3 3 4\n", "5\n6\n5\n6\n5\n"]
    return [rt.encode(f"in:\n{r}out:\n{r}in:\n{r}out:\n") for r in rows]


@torch.inference_mode()
@pytest.mark.parametrize("width", [2, 5])
def test_drafted_grid_decoding_matches_plain_on_a_tiny_llama(tiny_rt, width):
    allowed = tiny_rt.grid_token_ids()
    ids, mask = tiny_rt._batch(_grid_prompts(tiny_rt), left=True)
    caps = [24, 30, 17]
    stop = lambda t: False   # noqa: E731
    ref, ent = greedy(tiny_rt.model, ids, mask, caps, stop, allowed=allowed)
    got, ent2 = greedy(tiny_rt.model, ids, mask, caps, stop, allowed=allowed, draft_width=width)
    assert got == ref and ent2 == pytest.approx(ent)


@torch.inference_mode()
def test_drafted_decoding_cuts_a_sliding_window_cache_exactly():
    """Gemma 3's local layers keep only a window of keys; prompts past it make the cut take that path."""
    from transformers import Gemma3TextConfig, Gemma3ForCausalLM

    from strategies.runtime import tiny_runtime
    rt = tiny_runtime()
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=len(rt.tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=32, sliding_window=12,
                           layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                           max_position_embeddings=512, pad_token_id=rt.tokenizer.pad_token_id)
    model = Gemma3ForCausalLM(cfg).eval()
    allowed = rt.grid_token_ids()
    ids, mask = rt._batch(_grid_prompts(rt), left=True)
    assert ids.shape[1] > cfg.sliding_window
    caps = [20, 26, 15]
    ref, _ = greedy(model, ids, mask, caps, lambda t: False, allowed=allowed)
    for width in (2, 4, 9):
        got, _ = greedy(model, ids, mask, caps, lambda t: False, allowed=allowed, draft_width=width)
        assert got == ref


def test_the_decode_benchmark_compares_drafted_with_plain(tmp_path):
    import json

    from eval.bench_decode import main
    out = tmp_path / "decode.json"
    assert main(["--model", "tiny", "--kind", "grid", "--families", "rot90", "--n", "2", "--draft-width", "4",
                 "--skip-reference", "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["answers"] == 2 and got["same_drafted"] == 2 and "transformers_s" not in got


def test_a_bad_draft_width_in_the_environment_is_refused(monkeypatch):
    from strategies.runtime import draft_width_from_env
    monkeypatch.setenv("TTTC_DRAFT_WIDTH", "wide")
    with pytest.raises(ValueError, match="TTTC_DRAFT_WIDTH='wide'"):
        draft_width_from_env()
    monkeypatch.setenv("TTTC_DRAFT_WIDTH", "1")
    assert draft_width_from_env() == 1
