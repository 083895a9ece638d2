"""ICL answers keep their demonstrations' key/value cache under the runtime's own weights, never under others."""
import pytest

from strategies.icl import ICL
from strategies.icl_vote import ICLVote
from strategies.runtime.prompt_cache import PrefixCache
from strategies.serialize import fixed_chars, render
from strategies.task import task_from_obj
from strategies.ttt.adapters import LoraSettings, attached, weights_modified

pytestmark = pytest.mark.usefixtures("one_thread")


def with_query(task, query):
    """The same demonstrations, another test input: a thread's follow-up."""
    d = task.to_json()
    return task_from_obj({"train": d["train"], "test": [{"input": query}]}, name=task.name)


@pytest.fixture
def rt(tiny_rt):
    before = tiny_rt.prefix_cache
    tiny_rt.prefix_cache = PrefixCache(max_bytes=2**26)
    yield tiny_rt
    tiny_rt.prefix_cache = before


def test_fixed_chars_are_the_demonstrations_before_the_query():
    demos = [("ab", "AB"), ("cd", "CD")]
    prompt = render(demos, "ef", "text").prompt
    n = fixed_chars(prompt, "ef", "text")
    assert 0 < n < len(prompt)
    assert prompt[n:] == render([], "ef", "text").prompt
    assert fixed_chars("unrelated text", "ef", "text") == 0


@pytest.mark.parametrize("make", [ICL, ICLVote], ids=["icl", "icl-vote"])
@pytest.mark.parametrize("kind", ["text", "grid"])
def test_a_follow_up_reuses_the_demonstrations_and_answers_as_without_the_cache(rt, make, kind, text_task, grid_task):
    task = text_task if kind == "text" else grid_task
    follow = with_query(task, task.train[0].input)
    strategy = make()
    first = strategy.run(task, rt)
    hits = rt.prefix_cache.hits
    cached = strategy.run(follow, rt)
    repeat = strategy.run(task, rt)
    assert rt.prefix_cache.hits >= hits + 2            # the follow-up's demonstrations, the repeat's whole prompts
    assert cached.cost.tokens_in < first.cost.tokens_in  # only the new query was prefilled
    rt.prefix_cache = PrefixCache(max_bytes=0)           # the same runs with the cache off
    assert strategy.run(follow, rt).attempts == cached.attempts
    assert strategy.run(task, rt).attempts == repeat.attempts == first.attempts


def test_nothing_is_cached_or_reused_while_other_weights_answer(rt, text_task):
    ICL().run(text_task, rt)
    entries, hits = len(rt.prefix_cache), rt.prefix_cache.hits
    assert rt.base_tag() is not None
    with weights_modified(rt):                            # a TTT adapter folded into the weights
        assert rt.base_tag() is None
        ICL().run(text_task, rt)
        ICL().run(with_query(text_task, "new words"), rt)
    with attached(rt, "t", LoraSettings(rank=4, alpha=8)):  # tlm answers by ICL with its adapter attached
        assert rt.base_tag() is None
        ICL().run(text_task, rt)
    assert (len(rt.prefix_cache), rt.prefix_cache.hits) == (entries, hits)
    assert rt.base_tag() == ("base", rt.model_id)


def test_a_runtime_without_the_cache_still_answers(text_task, tiny_rt):
    class Plain:   # a stand-in runtime: no base_tag, no prefix cache
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            if name in ("base_tag", "weights_modified"):
                raise AttributeError(name)
            return getattr(self.inner, name)

    assert ICL().run(text_task, Plain(tiny_rt)).attempts == ICL().run(text_task, tiny_rt).attempts
    with weights_modified(Plain(tiny_rt)):
        pass
