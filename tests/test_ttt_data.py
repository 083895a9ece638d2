"""Specification of TTT data: leave-one/two-out items, augmentation, de-duplication, loss masks, validation, caps."""
from math import comb

import pytest

from strategies.serialize import parse_answer, render_answer
from strategies.task import task_from_obj
from strategies.ttt.data import DataConfig, ttt_sequences

PLAIN = dict(n_augment=1, leave_two_out="never", n_val=0)   # identity views only, nothing held out


def masked_runs(rt, seq) -> list[str]:
    """The loss-carrying tokens, decoded run by run (each run should be one whole answer)."""
    runs, cur = [], []
    for tok, m in zip(seq.ids, seq.loss_mask):
        if m:
            cur.append(tok)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return [rt.tokenizer.decode(r) for r in runs]


def answers(task, idx) -> list[str]:
    return [render_answer(task.train[j].output, task.kind) for j in idx]


def test_leave_one_out_gives_one_item_per_demo(tiny_rt, grid_task, text_task):
    for task in (grid_task, text_task):
        train, val = ttt_sequences(task, tiny_rt, DataConfig(**PLAIN))
        assert len(train) == len(task.train) and val == []
        queries = sorted(masked_runs(tiny_rt, s)[-1] for s in train)
        assert queries == sorted(answers(task, range(len(task.train))))


def test_leave_two_out_adds_k_choose_2_items(tiny_rt, text_task):
    k = len(text_task.train)
    train, _ = ttt_sequences(text_task, tiny_rt, DataConfig(**{**PLAIN, "leave_two_out": "always"}))
    assert len(train) == k + comb(k, 2)


def test_auto_leave_two_out_fills_in_below_four_demos(tiny_rt, grid_task, text_task):
    auto = {**PLAIN, "leave_two_out": "auto", "min_items": 0}
    assert len(ttt_sequences(grid_task, tiny_rt, DataConfig(**auto))[0]) == 3 + comb(3, 2)
    assert len(ttt_sequences(text_task, tiny_rt, DataConfig(**auto))[0]) == 4   # K=4 and enough items


def test_a_single_demo_gives_no_items(tiny_rt):
    task = task_from_obj({"train": [{"input": "a", "output": "A"}], "test": [{"input": "b"}]})
    assert ttt_sequences(task, tiny_rt, DataConfig()) == ([], [])


def test_identical_items_are_kept_once(tiny_rt):
    # demos 0 and 1 are the same, so leaving out either gives the same sequence
    task = task_from_obj({"train": [{"input": "a b", "output": "B A"}, {"input": "a b", "output": "B A"},
                                    {"input": "c d", "output": "D C"}], "test": [{"input": "e f"}]})
    train, _ = ttt_sequences(task, tiny_rt, DataConfig(**PLAIN))
    assert len(train) == 2
    assert len({s.ids for s in train}) == 2


def test_augmentation_adds_distinct_views_of_each_item(tiny_rt, grid_task):
    train, _ = ttt_sequences(grid_task, tiny_rt, DataConfig(**{**PLAIN, "n_augment": 4}))
    assert len(train) == 4 * len(grid_task.train)
    assert len({s.ids for s in train}) == len(train)


def test_demo_loss_covers_exactly_demo_outputs_two_on_and_the_query_output(tiny_rt, grid_task, text_task):
    for task in (grid_task, text_task):
        k = len(task.train)
        for seq in ttt_sequences(task, tiny_rt, DataConfig(**PLAIN))[0]:
            runs = masked_runs(tiny_rt, seq)
            query = next(q for q in range(k) if answers(task, [q])[0] == runs[-1])
            context = [j for j in range(k) if j != query]
            assert runs == answers(task, context[1:] + [query])


def test_query_loss_covers_only_the_query_output(tiny_rt, text_task):
    for seq in ttt_sequences(text_task, tiny_rt, DataConfig(**{**PLAIN, "loss": "query"}))[0]:
        runs = masked_runs(tiny_rt, seq)
        assert len(runs) == 1 and runs[0] in answers(text_task, range(4))


def test_masks_of_augmented_items_are_whole_parseable_answers(tiny_rt, grid_task):
    for seq in ttt_sequences(grid_task, tiny_rt, DataConfig(**{**PLAIN, "n_augment": 4}))[0]:
        for run in masked_runs(tiny_rt, seq):
            assert run.endswith("\n\n") and parse_answer(run, "grid") is not None


def test_validation_holds_out_a_demo_whose_output_never_carries_loss(tiny_rt, text_task):
    train, val = ttt_sequences(text_task, tiny_rt, DataConfig(n_augment=3, n_val=1, val_min_demos=3))
    assert len(val) == 1
    (held,) = masked_runs(tiny_rt, val[0])           # validation: loss on the held-out output only
    assert held in answers(text_task, range(4))
    assert train and all(held not in masked_runs(tiny_rt, s) for s in train)


def test_no_validation_below_the_minimum_demo_count(tiny_rt, grid_task):
    assert ttt_sequences(grid_task, tiny_rt, DataConfig(n_val=1, val_min_demos=4))[1] == []
    two = task_from_obj({"train": [{"input": "a", "output": "A"}, {"input": "b", "output": "B"}],
                         "test": [{"input": "c"}]})
    train, val = ttt_sequences(two, tiny_rt, DataConfig(n_val=1, val_min_demos=2))
    assert val == [] and len(train) == 2


def test_sequences_over_max_len_are_dropped(tiny_rt, grid_task):
    both = {**PLAIN, "leave_two_out": "always"}     # leave-two-out items are shorter
    train, _ = ttt_sequences(grid_task, tiny_rt, DataConfig(**both))
    cut = max(len(s.ids) for s in train) - 1
    short, _ = ttt_sequences(grid_task, tiny_rt, DataConfig(**{**both, "max_len": cut}))
    assert 0 < len(short) < len(train) and all(len(s.ids) <= cut for s in short)


def test_max_items_caps_and_keeps_identity_views_first(tiny_rt, text_task):
    identity = {s.ids for s in ttt_sequences(text_task, tiny_rt, DataConfig(**PLAIN))[0]}
    capped, _ = ttt_sequences(text_task, tiny_rt, DataConfig(**{**PLAIN, "n_augment": 4, "max_items": 3}))
    assert len(capped) == 3 and {s.ids for s in capped} <= identity


def test_test_outputs_are_never_used(tiny_rt, grid_task):
    blind = grid_task.model_copy(update={"test": tuple(e.model_copy(update={"output": None}) for e in grid_task.test)})
    cfg = DataConfig(n_augment=3)
    assert ttt_sequences(grid_task, tiny_rt, cfg) == ttt_sequences(blind, tiny_rt, cfg)


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError):
        DataConfig(n_augmentations=3)
