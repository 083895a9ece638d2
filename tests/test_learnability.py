"""The learnability probe: a few throwaway LoRA steps, measured on a held-out demonstration."""
from __future__ import annotations

import math

import pytest

from policies.features import FEATURES, featurize
from policies.features.learnability import KEYS, PROBE, drop, ttt_probe
from strategies.task import task_from_obj
from strategies.ttt.adapters import param_fingerprint

pytestmark = pytest.mark.usefixtures("one_thread")

WORDS = task_from_obj({"train": [{"input": w, "output": w.upper()} for w in ("red fox", "blue sky", "old tree", "a cat")],
                       "test": [{"input": "green leaf"}]})


def test_the_probe_trains_leaves_the_base_untouched_and_is_repeatable(tiny_rt):
    before = param_fingerprint(tiny_rt.model)
    first = ttt_probe(WORDS, tiny_rt)
    assert param_fingerprint(tiny_rt.model) == before
    assert set(first) == set(KEYS) and all(math.isfinite(v) for v in first.values())
    assert first["probe_drop"] == pytest.approx(drop(first["probe_loss0"], first["probe_loss1"]))
    assert (first["probe_drop"] > 0) == (first["probe_loss1"] < first["probe_loss0"])
    assert first["probe_loss0"] != first["probe_loss1"]   # the steps changed what the model predicts
    assert ttt_probe(WORDS, tiny_rt) == first


def test_with_fewer_than_three_demos_nothing_is_held_out_and_the_values_are_nan(tiny_rt):
    two = WORDS.model_copy(update={"train": WORDS.train[:2]})
    assert all(math.isnan(v) for v in ttt_probe(two, tiny_rt).values())


def test_featurize_meters_the_probes_training(tiny_rt):
    f = featurize(WORDS, tiny_rt, names=["ttt_probe"])
    cost = f.costs["ttt_probe"]
    assert cost.steps == PROBE.steps and cost.tokens_trained > 0 and cost.flops > 0 and cost.wall_s > 0
    assert FEATURES["ttt_probe"].runs_model and FEATURES["ttt_probe"].needs == "train"
