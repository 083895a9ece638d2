"""Specification of the ttt and tlm strategies end to end on the tiny model (plumbing, cost, early stopping, cache)."""
import pytest

from strategies.base import Result
from strategies.ttt.adapters import param_fingerprint
from strategies.ttt.strategy import TTT, TTTConfig
from strategies.ttt.tlm import TLM, TLMConfig

FAST_TRAIN = {"max_steps": 2, "batch_tokens": 256, "bf16": False, "eval_every": 0}


def fast(**over) -> TTTConfig:
    settings = {"lora": {"rank": 4, "alpha": 8}, "train": FAST_TRAIN, "data": {"n_augment": 2},
                "n_views": 2, "cache": False}
    return TTTConfig(**{**settings, **over})


pytestmark = pytest.mark.usefixtures("one_thread")


def assert_result_shape(result: Result, task, name: str):
    assert result.strategy == name
    assert len(result.attempts) == len(task.test)
    assert all(len(a) <= 2 for a in result.attempts)
    assert 0.0 <= result.confidence <= 1.0


@pytest.mark.parametrize("kind", ["grid", "text"])
def test_ttt_trains_answers_and_restores_the_model(tiny_rt, grid_task, text_task, kind):
    task = grid_task if kind == "grid" else text_task
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    stages = []
    result = TTT(fast()).run(task, tiny_rt, lambda stage, info: stages.append(stage))
    assert_result_shape(result, task, "ttt")
    assert result.cost.tokens_trained > 0 and result.cost.steps >= 1
    assert result.cost.tokens_in > 0 and result.cost.wall_s > 0
    assert result.info["steps"] == result.cost.steps and result.info["n_items"] > 0
    assert {"preparing", "training", "answering", "voting"} <= set(stages)
    assert tiny_rt.model is base and param_fingerprint(base) == before


def test_early_stopping_uses_fewer_steps_when_validation_loss_stalls(tiny_rt, grid_task):
    # lr 0: the held-out loss cannot improve, so training stops after `patience` flat evaluations
    cfg = fast(train={**FAST_TRAIN, "lr": 0.0, "max_steps": 10, "eval_every": 1, "patience": 2},
               data={"n_augment": 4, "n_val": 1, "val_min_demos": 3})
    result = TTT(cfg).run(grid_task, tiny_rt)
    assert result.info["n_val"] == 1
    assert result.info["stopped_early"] is True
    assert result.info["steps"] == result.cost.steps == 3 < 10
    assert len(result.info["val_losses"]) == 3


def test_no_demo_is_held_out_without_early_stopping(tiny_rt, grid_task):
    result = TTT(fast(data={"n_augment": 1, "n_val": 1})).run(grid_task, tiny_rt)
    assert result.info["n_val"] == 0


def test_a_cache_hit_skips_training_and_gives_the_same_answers(tiny_rt, text_task, tmp_path, monkeypatch):
    import strategies.ttt.strategy as ttt_module
    cfg = fast(cache=True, cache_dir=str(tmp_path))
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    first = TTT(cfg).run(text_task, tiny_rt)

    def no_peft(*args, **kw):
        raise AssertionError("a cache hit must not attach a peft adapter")
    monkeypatch.setattr(ttt_module, "attached", no_peft)
    again = TTT(cfg).run(text_task, tiny_rt)
    assert tiny_rt.model is base and param_fingerprint(base) == before
    assert first.info["cache_hit"] is False and again.info["cache_hit"] is True
    assert again.cost.steps == 0 and again.cost.tokens_trained == 0
    assert again.info["steps"] == first.info["steps"]          # what the cached adapter cost to train
    assert again.attempts == first.attempts


def test_should_stop_cancels_and_restores_the_model(tiny_rt, grid_task):
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    result = TTT(fast()).run(grid_task, tiny_rt, should_stop=lambda: True)
    assert result.info["cancelled"] is True and result.attempts == [[]]
    assert tiny_rt.model is base and param_fingerprint(base) == before


def test_a_single_demo_task_skips_training_but_still_answers(tiny_rt):
    from strategies.task import task_from_obj
    task = task_from_obj({"train": [{"input": "ab", "output": "BA"}], "test": [{"input": "cd"}]})
    result = TTT(fast()).run(task, tiny_rt)
    assert result.cost.steps == 0 and result.info["n_items"] == 0
    assert len(result.attempts) == 1


def test_runs_are_reproducible(tiny_rt, text_task):
    first, again = TTT(fast()).run(text_task, tiny_rt), TTT(fast()).run(text_task, tiny_rt)
    assert first.attempts == again.attempts and first.info["loss_last"] == again.info["loss_last"]


def test_augmentation_scoring_reorders_the_top_vote_candidates(tiny_rt, text_task, monkeypatch):
    import strategies.voting
    seen = []

    def favour_the_last(runtime, task, test_index, candidates, views):   # stands in for the model's scores
        seen.append(list(candidates))
        return [float(i) for i in range(len(candidates))], strategies.voting.Cost(tokens_in=7)

    plain = TTT(fast(n_views=4)).run(text_task, tiny_rt)
    monkeypatch.setattr(strategies.voting, "augmentation_score", favour_the_last)
    scored = TTT(fast(n_views=4, aug_scoring=True, rescore=3)).run(text_task, tiny_rt)
    (candidates,) = seen
    assert 2 <= len(candidates) <= 3 and candidates[:2] == plain.attempts[0]   # the vote's order
    assert scored.attempts[0] == candidates[::-1][:2]                         # re-ranked by score
    assert scored.cost.tokens_in == plain.cost.tokens_in + 7


def test_config_refuses_unknown_keys_and_keeps_ttt_defaults_under_partial_overrides():
    with pytest.raises(ValueError):
        TTTConfig(n_view=4)
    with pytest.raises(ValueError):
        TTTConfig(train={"learning_rate": 1e-3})
    cfg = TTTConfig(train={"lr": 1e-3})
    assert cfg.train.lr == 1e-3 and cfg.train.max_steps == TTTConfig().train.max_steps


def test_tlm_trains_on_inputs_answers_and_restores_the_model(tiny_rt, text_task):
    base, before = tiny_rt.model, param_fingerprint(tiny_rt.model)
    cfg = TLMConfig(train={"max_steps": 2, "bf16": False}, p0=0.0)
    result = TLM(cfg).run(text_task, tiny_rt)
    assert_result_shape(result, text_task, "tlm")
    assert result.info["n_inputs"] == 5 and result.info["n_kept"] == 5   # 4 demo inputs + 1 test input
    assert result.cost.tokens_trained > 0 and result.cost.steps >= 1
    assert tiny_rt.model is base and param_fingerprint(base) == before


def test_tlm_uses_other_unlabeled_queries_when_given(tiny_rt, text_task, grid_task):
    cfg = TLMConfig(train={"max_steps": 1, "bf16": False}, p0=0.0)
    result = TLM(cfg).run(text_task, tiny_rt, unlabeled=[grid_task])
    assert result.info["n_inputs"] == 5 + 4


def test_tlm_skips_training_when_no_input_is_surprising(tiny_rt, text_task):
    result = TLM(TLMConfig(p0=100.0)).run(text_task, tiny_rt)
    assert result.info["n_kept"] == 0 and result.cost.steps == 0
    assert len(result.attempts) == 1


@pytest.mark.slow
def test_ttt_on_the_real_model_trains_and_leaves_it_bit_exact(real_rt, text_task):
    base, before = real_rt.model, param_fingerprint(real_rt.model)
    cfg = fast(lora={}, train={"max_steps": 2, "batch_tokens": 512, "eval_every": 0})
    result = TTT(cfg).run(text_task, real_rt)
    assert_result_shape(result, text_task, "ttt")
    assert result.cost.steps == 2 and result.info["loss_last"] < 10
    assert real_rt.model is base and param_fingerprint(base) == before
