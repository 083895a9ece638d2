"""Specification of the demonstration-prefix key/value cache: same answers, less prefill, never a wrong reuse."""
import pytest
import torch

from strategies.runtime.kv import cache_kwarg, output_cache
from strategies.runtime.prompt_cache import PrefixCache, cache_bytes, split_prompts
from strategies.serialize import render

pytestmark = pytest.mark.usefixtures("one_thread")

DEMOS = [("good day", "GOOD DAY"), ("red fox", "RED FOX"), ("blue sky", "BLUE SKY")]


def views_of(query: str) -> tuple[list[str], list[int]]:
    """Three demo orders (prefixes of different lengths once padded) and the same query."""
    orders = [DEMOS, DEMOS[::-1], DEMOS[1:] + DEMOS[:1]]
    prompts = [render(d, query, "text").prompt for d in orders]
    tail = render([], query, "text").prompt
    return prompts, [len(p) - len(tail) for p in prompts]


@pytest.fixture
def fresh_rt(tiny_rt):
    tiny_rt.prefix_cache = PrefixCache(max_bytes=2**26)
    return tiny_rt


def test_the_prefix_is_a_run_of_the_whole_prompts_own_tokens(tiny_rt):
    prompts, fixed = views_of("hello world")
    split = split_prompts(tiny_rt.tokenizer, prompts, fixed)
    for prompt, pre, tail, chars in zip(prompts, split.prefixes, split.tails, fixed):
        assert list(pre + tail) == tiny_rt.encode(prompt)
        assert pre and tail
        assert len(tiny_rt.tokenizer.decode(list(pre))) <= chars


def test_cached_prefixes_give_the_same_answers_and_skip_their_prefill(fresh_rt):
    rt = fresh_rt
    prompts, fixed = views_of("hello world")
    plain = rt.generate(prompts, "text", 6)
    first = rt.generate(prompts, "text", 6, prefix_chars=fixed, cache_tag="w1")
    again = rt.generate(prompts, "text", 6, prefix_chars=fixed, cache_tag="w1")
    assert plain.texts == first.texts == again.texts
    # a repeat prefills only each prompt's last token: its first answer token comes from there
    assert first.cached_tokens == 0 and again.cached_tokens == plain.cost.tokens_in - len(prompts)
    assert again.cost.tokens_in == len(prompts)
    assert again.first_token_entropy == pytest.approx(plain.first_token_entropy, abs=1e-4)
    # a follow-up: same demonstrations, another query, reuses the demonstrations' prefixes only
    split = split_prompts(rt.tokenizer, prompts, fixed)
    follow_prompts, follow_fixed = views_of("old tree")
    follow = rt.generate(follow_prompts, "text", 6, prefix_chars=follow_fixed, cache_tag="w1")
    assert follow.cached_tokens == sum(len(p) for p in split.prefixes) > 0
    assert follow.texts == rt.generate(follow_prompts, "text", 6).texts
    again_follow = rt.generate(follow_prompts, "text", 6, prefix_chars=follow_fixed, cache_tag="w1")
    assert again_follow.texts == follow.texts and again_follow.cost.tokens_in == len(prompts)


def test_another_tag_or_other_demonstrations_never_reuse_an_entry(fresh_rt):
    rt = fresh_rt
    prompts, fixed = views_of("hello world")
    rt.generate(prompts, "text", 4, prefix_chars=fixed, cache_tag="w1")
    assert rt.generate(prompts, "text", 4, prefix_chars=fixed, cache_tag="w2").cached_tokens == 0
    other = [p.replace("red fox", "red cat") for p in prompts]
    other_fixed = [f + (len(o) - len(p)) for f, o, p in zip(fixed, other, prompts)]
    assert rt.generate(other, "text", 4, prefix_chars=other_fixed, cache_tag="w1").cached_tokens == 0


def test_without_a_tag_or_with_the_cache_off_nothing_is_kept(tiny_rt):
    prompts, fixed = views_of("hello world")
    tiny_rt.prefix_cache = PrefixCache(max_bytes=0)
    tiny_rt.generate(prompts, "text", 4, prefix_chars=fixed, cache_tag="w1")
    assert len(tiny_rt.prefix_cache) == 0
    tiny_rt.prefix_cache = PrefixCache(max_bytes=2**26)
    tiny_rt.generate(prompts, "text", 4, prefix_chars=fixed)
    assert len(tiny_rt.prefix_cache) == 0


def test_the_cache_hands_out_copies_and_forgets_the_least_recent_past_its_memory(tiny_rt):
    from transformers import DynamicCache
    ids = torch.tensor([tiny_rt.encode("in: good day\nout: GOOD DAY")])
    with torch.no_grad():
        kv = output_cache(tiny_rt.model(input_ids=ids, **cache_kwarg(tiny_rt.model, DynamicCache(config=tiny_rt.model.config)),
                                        use_cache=True))
    size = cache_bytes(kv)
    assert size > 0
    cache = PrefixCache(max_bytes=2 * size)
    cache.put("a", kv)
    copy = cache.get("a")
    copy.crop(-2)                                  # generation changes the cache it is given
    assert cache_bytes(cache.get("a")) == size
    cache.put("b", kv)
    cache.get("a")                                 # "a" is now the most recent
    cache.put("c", kv)
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert PrefixCache(max_bytes=size - 1).put("too big", kv) is None


def test_the_memory_setting_comes_from_the_environment_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("TTTC_PREFIX_CACHE_MB", "0")
    assert not PrefixCache().enabled
    monkeypatch.setenv("TTTC_PREFIX_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="TTTC_PREFIX_CACHE_MB='lots': expected megabytes"):
        PrefixCache()


def test_a_sliding_window_model_answers_the_same_from_either_cache_entry():
    """Gemma 3's local layers keep only a window of keys: prompts past it, prefilled in three pieces
    (demonstrations, query body, last token), must still give plain greedy's grid answers."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    from strategies.runtime import Runtime, tiny_runtime
    tok = tiny_runtime().tokenizer
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=32, sliding_window=12,
                           layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                           max_position_embeddings=512, pad_token_id=tok.pad_token_id)
    rt = Runtime.from_pretrained_objects(Gemma3ForCausalLM(cfg).eval(), tok, "tiny-gemma")
    rt.prefix_cache = PrefixCache(max_bytes=2**26)
    demos = [([[1, 2], [0, 1]], [[2, 1], [1, 0]]), ([[3, 3, 4]], [[4, 3, 3]]), ([[5], [6]], [[5], [6]])]

    def prompts_for(query):
        orders = [demos, demos[::-1], demos[1:] + demos[:1]]
        prompts = [render(d, query, "grid").prompt for d in orders]
        tail = render([], query, "grid").prompt
        return prompts, [len(p) - len(tail) for p in prompts]

    for query in ([[1, 0, 2], [2, 2, 0]], [[4, 4], [3, 5], [0, 1]]):
        prompts, fixed = prompts_for(query)
        assert min(len(rt.encode(p)) for p in prompts) > cfg.sliding_window
        plain = rt.generate(prompts, "grid", 14).texts
        for _ in range(2):   # the first call fills the entries, the second reads the whole-prompt one
            assert rt.generate(prompts, "grid", 14, prefix_chars=fixed, cache_tag="w").texts == plain
