"""The feature registry: every feature's contract, the model-free path, cost metering and probe sharing."""
from __future__ import annotations

import math
import re

import pytest

from policies.features import FEATURES, Features, feature_columns, featurize, register
from policies.features.likelihood import query_split
from strategies.cost import Cost
from strategies.runtime import Generation
from strategies.serialize import render
from strategies.task import task_from_obj

GRID = task_from_obj({"train": [
    {"input": [[1, 0], [0, 1]], "output": [[1, 0], [0, 1]]},
    {"input": [[2, 2, 0]], "output": [[2, 2, 0]]},
    {"input": [[3]], "output": [[4, 4], [4, 4]]},
], "test": [{"input": [[5, 0], [0, 5]]}]}, name="copy-mostly")
TEXT = task_from_obj({"train": [{"input": "abc", "output": "cba"}, {"input": "hello", "output": "olleh"}],
                      "test": [{"input": "dog"}, {"input": "cat"}]})
MODEL_FREE = [n for n, s in FEATURES.items() if s.needs == "none"]


class CopyRuntime:
    """A fake model that answers every query by copying its input, and gives every token log-prob -1."""
    model_id = "copy"
    n_params = 1

    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    def encode(self, text: str) -> list[int]:
        return list(range(len(text)))

    def generate(self, prompts, kind, max_new_tokens, batch_size=8):
        self.calls.append(("generate", len(prompts)))
        texts = []
        for p in prompts:
            query = re.split(r"in:[\n ]", p)[-1].rsplit("\nout:", 1)[0]
            texts.append(("\n" if kind == "grid" else " ") + query + "\n\n")
        return Generation(texts, [0.5] * len(prompts), Cost(tokens_in=sum(map(len, prompts)), tokens_out=7))

    def token_logprobs(self, prompts, answers, batch_size=8):
        self.calls.append(("token_logprobs", len(prompts)))
        return [[-1.0] * len(a) for a in answers], Cost(tokens_in=sum(len(p) + len(a) for p, a in zip(prompts, answers)))


# -- the contract every registered feature keeps ---------------------------------------------------
@pytest.mark.parametrize("name", list(FEATURES))
def test_feature_returns_its_declared_finite_columns(name, tiny_rt):
    spec = FEATURES[name]
    rt = {"none": None, "train": tiny_rt}.get(spec.needs, CopyRuntime())   # training needs a torch model
    out = spec.fn(GRID, rt)
    assert tuple(out) == spec.keys
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in out.values())


@pytest.mark.parametrize("name", list(FEATURES))
def test_feature_ignores_the_task_name(name, tiny_rt):
    spec = FEATURES[name]
    rt = None if spec.needs == "none" else tiny_rt
    renamed = GRID.model_copy(update={"name": "another-family-entirely"})
    assert spec.fn(GRID, rt) == spec.fn(renamed, rt)


def test_registry_refuses_a_duplicate_name_or_column():
    with pytest.raises(ValueError, match="already registered"):
        register("demo_ppl")(lambda task, rt: {"demo_ppl": 0.0})
    with pytest.raises(ValueError, match="already returned by 'counts'"):
        register("demo_count", keys=("n_demos",))(lambda task, rt: {"n_demos": 0.0})
    assert "demo_count" not in FEATURES


# -- featurize ---------------------------------------------------------------------------------------
def test_featurize_without_a_model_runs_only_model_free_features():
    f = featurize(GRID)
    assert set(f.costs) == set(MODEL_FREE)
    assert f.cost.tokens_in == 0 and f.icl_answer is None
    assert set(f.values) == set(feature_columns(MODEL_FREE))


def test_featurize_refuses_a_model_feature_without_a_model():
    with pytest.raises(ValueError, match="need a model runtime"):
        featurize(GRID, None, ["counts", "demo_ppl"])


def test_featurize_refuses_an_unknown_feature():
    with pytest.raises(KeyError, match="unknown feature"):
        featurize(GRID, None, ["task_family"])


def test_size_statistics_on_a_hand_made_grid_task():
    v = featurize(GRID).values
    assert v["n_demos"] == 3 and v["n_tests"] == 1 and v["is_grid"] == 1
    assert v["grid_side_max"] == 3 and v["grid_side_mean"] == pytest.approx((2 + 2 + 3 + 3 + 1 + 2 + 2) / 7)
    assert v["out_in_ratio"] == pytest.approx((1 + 1 + 4) / 3)
    assert v["answer_size"] == pytest.approx((4 + 3 + 4) / 3)
    assert (v["same_shape"], v["const_out_shape"], v["const_shape_ratio"]) == (0, 0, 0)
    assert v["out_distinct"] == 1


def test_size_statistics_on_a_text_task():
    v = featurize(TEXT).values
    assert v["is_grid"] == 0 and v["grid_side_mean"] == 0 and v["grid_side_max"] == 0
    assert v["same_shape"] == 1 and v["out_in_ratio"] == 1


def test_each_feature_reports_its_own_cost_and_the_total_adds_up():
    f = featurize(GRID, CopyRuntime(), ["demo_ppl", "loo_icl_acc", "counts"])
    assert f.costs["demo_ppl"].tokens_in > 0 and f.costs["loo_icl_acc"].tokens_out == 7
    assert f.costs["counts"].tokens_in == 0
    assert f.cost.tokens_in == sum(c.tokens_in for c in f.costs.values())
    assert f.cost.wall_s == pytest.approx(sum(c.wall_s for c in f.costs.values()))


def test_features_vector_fills_missing_columns_with_nan():
    f = Features({"a": 1.0}, {})
    assert f.vector(["a"]) == [1.0] and math.isnan(f.vector(["b"])[0])


# -- the model features, on a fake model with known answers ------------------------------------------
def test_demo_ppl_scores_each_later_demo_given_the_earlier_ones_in_one_call():
    rt = CopyRuntime()
    assert featurize(GRID, rt, ["demo_ppl"]).values["demo_ppl"] == pytest.approx(1.0)
    assert rt.calls == [("token_logprobs", 2)]


def test_test_input_ppl_scores_the_query_text_that_ends_the_prompt():
    demos = [(e.input, e.output) for e in TEXT.train]
    context, query = query_split(demos, "dog", "text")
    assert context + query + "\nout:" == render(demos, "dog", "text").prompt
    assert not context.endswith(" ") and query.strip() == "dog"
    rt = CopyRuntime()
    assert featurize(TEXT, rt, ["test_input_ppl"]).values["test_input_ppl"] == pytest.approx(1.0)
    assert rt.calls == [("token_logprobs", 2)]


def test_loo_icl_acc_counts_demos_the_others_predict_in_one_generate():
    rt = CopyRuntime()   # copying is right for the first two demos, wrong for the third
    assert featurize(GRID, rt, ["loo_icl_acc"]).values["loo_icl_acc"] == pytest.approx(2 / 3)
    assert rt.calls == [("generate", 3)]


COPY = task_from_obj({"train": [{"input": [[1, 2], [3, 4]], "output": [[1, 2], [3, 4]]},
                                {"input": [[5, 0, 6]], "output": [[5, 0, 6]]}],
                      "test": [{"input": [[7, 8], [0, 9]]}, {"input": [[1, 0]]}]})


def test_self_consistency_is_full_when_every_view_agrees_and_shares_one_generation():
    rt = CopyRuntime()   # copying is the rule of COPY, and it commutes with every view
    f = featurize(COPY, rt, ["self_consistency", "first_token_entropy"])
    assert f.values["self_consistency"] == pytest.approx(1.0)
    assert f.values["first_token_entropy"] == pytest.approx(0.5)
    assert [c for c in rt.calls if c[0] == "generate"] == [("generate", 5 * 2)]   # 5 views x 2 tests
    assert f.costs["first_token_entropy"].tokens_in == 0                          # it read the memo


def test_the_identity_icl_answer_is_kept_for_the_icl_strategy():
    f = featurize(COPY, CopyRuntime(), ["self_consistency"])
    assert f.icl_answer == [ex.input for ex in COPY.test]
    demos = [(e.input, e.output) for e in COPY.train]
    assert f.icl_prompts == [render(demos, ex.input, "grid").prompt for ex in COPY.test]
    assert f.icl_cost is not None and f.icl_cost.tokens_out == 7


def test_self_consistency_counts_unparsable_views_as_dissent():
    class Babble(CopyRuntime):
        def generate(self, prompts, kind, max_new_tokens, batch_size=8):
            g = super().generate(prompts, kind, max_new_tokens)
            g.texts = [g.texts[0]] + ["not a grid"] * (len(prompts) - 1)
            return g
    task = COPY.model_copy(update={"test": COPY.test[:1]})
    assert featurize(task, Babble(), ["self_consistency"]).values["self_consistency"] == pytest.approx(1 / 5)


# -- the real (tiny, random) model ---------------------------------------------------------------------
def test_every_feature_runs_on_the_tiny_model(tiny_rt):
    f = featurize(GRID, tiny_rt)
    assert set(f.values) == set(feature_columns())
    assert all(math.isfinite(v) for v in f.values.values())
    for name in ("demo_ppl", "test_input_ppl", "loo_icl_acc", "self_consistency"):
        assert f.costs[name].tokens_in > 0 and f.costs[name].flops > 0
    assert len(f.icl_answer) == len(GRID.test)


def test_likelihood_features_run_on_a_text_task(tiny_rt):
    v = featurize(TEXT, tiny_rt, ["demo_ppl", "test_input_ppl", "prompt_tokens"]).values
    assert v["demo_ppl"] > 0 and v["test_input_ppl"] > 0 and v["prompt_tokens"] > 0
