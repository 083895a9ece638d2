"""The hand-written greedy decoder: the same tokens as transformers' greedy `generate` where nothing is
restricted, only digit/newline tokens for grid answers, and finished rows leaving the batch."""
from __future__ import annotations

import pytest
import torch

from strategies.runtime.decode import GRID_CHARS, greedy, grid_token_ids

pytestmark = pytest.mark.usefixtures("one_thread")

PROMPTS = ["in: a\nout:", "in: a much longer prompt than the others\nout:", "in: b c\nout:"]


def _reference(rt, ids, mask, caps, stop):
    """transformers' greedy generate, each row cut at its cap and where `stop` first holds."""
    out = rt.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max(caps), do_sample=False,
                            pad_token_id=rt.tokenizer.pad_token_id, eos_token_id=None)
    rows = []
    for j, cap in enumerate(caps):
        new = out[j, ids.shape[1]:].tolist()[:cap]
        cut = next((k + 1 for k in range(len(new)) if stop(new[:k + 1])), len(new))
        rows.append(new[:cut])
    return rows


@torch.inference_mode()
def test_unrestricted_greedy_matches_transformers_generate(tiny_rt):
    ids, mask = tiny_rt._batch([tiny_rt.encode(p) for p in PROMPTS], left=True)
    caps = [3, 12, 7]
    stop = lambda toks: toks[-1] == 13   # noqa: E731 - an arbitrary token as the end of an answer
    ours, entropy = greedy(tiny_rt.model, ids, mask, caps, stop)
    assert ours == _reference(tiny_rt, ids, mask, caps, stop)
    assert all(len(t) <= c for t, c in zip(ours, caps)) and all(e > 0 for e in entropy)


@torch.inference_mode()
def test_rows_that_finish_early_leave_the_batch_without_changing_the_others(tiny_rt):
    ids, mask = tiny_rt._batch([tiny_rt.encode(p) for p in PROMPTS], left=True)
    together, _ = greedy(tiny_rt.model, ids, mask, [1, 15, 4], lambda t: False)
    alone = [greedy(tiny_rt.model, *tiny_rt._batch([tiny_rt.encode(p)], left=True), [cap], lambda t: False)[0][0]
             for p, cap in zip(PROMPTS, [1, 15, 4])]
    assert [len(t) for t in together] == [1, 15, 4]
    assert together == alone


def test_grid_tokens_spell_digits_and_newlines_only(tiny_rt):
    ids = grid_token_ids(tiny_rt.tokenizer).tolist()
    texts = [tiny_rt.tokenizer.decode([i]) for i in ids]
    assert all(t and set(t) <= GRID_CHARS for t in texts)
    assert {str(d) for d in range(10)} | {"\n"} <= set(texts)   # SmolLM2: one token per digit and newline


@torch.inference_mode()
def test_restricted_greedy_picks_only_allowed_tokens_and_agrees_where_the_free_choice_was_allowed(tiny_rt):
    allowed = tiny_rt.grid_token_ids()
    ids, mask = tiny_rt._batch([tiny_rt.encode(p) for p in PROMPTS], left=True)
    caps = [6, 6, 6]
    restricted, ent_r = greedy(tiny_rt.model, ids, mask, caps, lambda t: False, allowed=allowed)
    free, ent_f = greedy(tiny_rt.model, ids, mask, caps, lambda t: False)
    ok = set(allowed.tolist())
    assert all(set(row) <= ok for row in restricted)
    assert ent_r == pytest.approx(ent_f)             # the entropy feature is over the whole vocabulary
    # the first step sees the same logits: its restricted choice is the best allowed token
    with torch.no_grad():
        logits = tiny_rt.model(input_ids=ids, attention_mask=mask).logits[:, -1]
    best = allowed[logits[:, allowed].argmax(-1)].tolist()
    assert [row[0] for row in restricted] == best
    for r, f in zip(restricted, free):
        if set(f) <= ok:
            assert r == f


def test_grid_generation_through_the_runtime_uses_the_restriction(tiny_rt, grid_task):
    from strategies.serialize import render
    prompt = render([(e.input, e.output) for e in grid_task.train], grid_task.test[0].input, "grid").prompt
    g = tiny_rt.generate([prompt], "grid", 20)
    assert set(g.texts[0]) <= GRID_CHARS               # a random model, yet never a stray character


def test_a_tokenizer_without_a_newline_token_is_refused():
    class NoNewline:
        def __len__(self):
            return 3

        def batch_decode(self, rows):
            return ["1", "a", "2"][:len(rows)]

        def decode(self, ids):
            return ["1", "a", "2"][ids[0]]
    with pytest.raises(ValueError, match="no token for a newline"):
        grid_token_ids(NoNewline())


def test_the_decode_benchmark_runs_and_finds_both_paths_agree(tmp_path, one_thread):
    import json

    from eval.bench_decode import main
    out = tmp_path / "decode.json"
    assert main(["--model", "tiny", "--kind", "text", "--families", "uppercase,initials", "--n", "2",
                 "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["answers"] == 4 and got["same"] == 4   # a random model's answers, identical on both paths
    assert [r["family"] for r in got["families"]] == ["uppercase", "initials"]
