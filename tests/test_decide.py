"""route(): the shipped router when there is one (utility with its lam, reused features, a clear error for a
damaged file), the default rule when there is none."""
from __future__ import annotations

import re

import numpy as np
import pytest
from agentkit import add_tiny_ttt

from policies.bundle import ROUTER_FILE, save_bundle
from policies.cost_model import CostModel
from policies.decide import default_rule, route
from policies.router import StrategyRouter
from policies.store import ModelFileError

FEATURES = ["self_consistency", "is_grid"]


def bundle(path, lam=0.0, strategies=("icl", "ttt-tiny")):
    """A router where ICL is right iff self_consistency > 0.5 and TTT is right on grids; ICL ~1 s, TTT ~40 s."""
    add_tiny_ttt()
    rng = np.random.default_rng(0)
    sc, grid = rng.random(200), (rng.random(200) < 0.5).astype(float)
    X = np.column_stack([sc, grid])
    Y = np.column_stack([sc > 0.5, grid == 1]).astype(float)
    router = StrategyRouter(lam=lam, C=100.0).fit(X, Y, feature_names=FEATURES, strategy_names=list(strategies))
    cost_rows = [{"strategy": s, "features": {}, "wall_s": w} for s, w in zip(strategies, (1.0, 40.0)) for _ in range(3)]
    return save_bundle(router, CostModel().fit(cost_rows), path, cheap="icl")


def test_without_a_shipped_router_route_uses_the_default_rule(tmp_path, grid_task, text_task, monkeypatch):
    monkeypatch.setenv("TTTC_ROUTER_DIR", str(tmp_path / "none"))
    assert route(grid_task, None) == default_rule(grid_task)
    assert route(text_task, None)[1].startswith("default rule")


def test_route_picks_the_highest_utility_and_says_why(tmp_path, grid_task):
    d = bundle(tmp_path / "r")
    name, reason = route(grid_task, None, {"self_consistency": 0.1, "is_grid": 1.0}, directory=d)
    assert name == "ttt-tiny"
    assert re.fullmatch(r"ttt-tiny: P\(correct\) [01]\.\d\d vs icl [01]\.\d\d, ~40 s", reason)
    name, reason = route(grid_task, None, {"self_consistency": 0.9, "is_grid": 0.0}, directory=d)
    assert name == "icl" and reason.endswith("~1.0 s")


def test_route_trades_p_correct_against_seconds_with_the_shipped_lam(tmp_path, grid_task):
    # TTT is likelier right, but at 0.1 per second its extra 39 s cost more than the gain
    d = bundle(tmp_path / "r", lam=0.1)
    assert route(grid_task, None, {"self_consistency": 0.1, "is_grid": 1.0}, directory=d)[0] == "icl"


def test_route_reuses_given_features_and_computes_only_missing_ones(tmp_path, grid_task, monkeypatch):
    import policies.features as features
    d = bundle(tmp_path / "r")
    calls = []
    real = features.featurize
    monkeypatch.setattr(features, "featurize", lambda task, rt, names=None: calls.append(names) or real(task, rt, names))
    given = features.Features({"self_consistency": 0.1, "is_grid": 1.0, "prompt_chars": 50.0, "answer_size": 4.0}, {})
    route(grid_task, None, given, directory=d)
    assert calls == []
    route(grid_task, None, {"self_consistency": 0.1}, directory=d)   # is_grid and the cost regressors are missing
    assert calls == [["is_grid", "sizes", "prompt_chars"]]


def test_a_strategy_missing_from_the_library_is_never_chosen(tmp_path, grid_task):
    d = bundle(tmp_path / "r", strategies=("icl", "not-registered"))
    assert route(grid_task, None, {"self_consistency": 0.1, "is_grid": 1.0}, directory=d)[0] == "icl"


def test_a_corrupt_router_file_is_a_clear_error(tmp_path, grid_task):
    d = bundle(tmp_path / "r")
    (d / ROUTER_FILE).write_text('{"format": "ttt-controller/strategy-rou')
    with pytest.raises(ModelFileError, match=r"router\.json: not a ttt-controller/strategy-router file \(not JSON"):
        route(grid_task, None, {}, directory=d)


def test_a_bundle_without_its_cost_model_is_a_clear_error(tmp_path, grid_task):
    d = bundle(tmp_path / "r")
    (d / "cost_model.json").unlink()
    with pytest.raises(ModelFileError, match=r"cost_model\.json: cannot read"):
        route(grid_task, None, {}, directory=d)


def test_route_reloads_a_bundle_that_was_retrained(tmp_path, grid_task):
    feats = {"self_consistency": 0.1, "is_grid": 1.0}
    d = bundle(tmp_path / "r")
    assert route(grid_task, None, feats, directory=d)[0] == "ttt-tiny"
    import os
    import time
    bundle(d, lam=0.1)
    later = time.time() + 5   # a coarse file clock must still see a change
    for f in d.iterdir():
        os.utime(f, (later, later))
    assert route(grid_task, None, feats, directory=d)[0] == "icl"


def test_needed_features_name_what_the_shipped_router_reads(tmp_path, monkeypatch):
    from policies.decide import needed_features
    d = bundle(tmp_path / "r")
    assert needed_features(d) == ["is_grid", "sizes", "prompt_chars", "self_consistency"]
    monkeypatch.setenv("TTTC_ROUTER_DIR", str(tmp_path / "none"))
    assert needed_features() == []


def test_a_router_trained_on_another_model_says_so_in_its_reason(tmp_path, grid_task):
    from types import SimpleNamespace
    add_tiny_ttt()
    router = StrategyRouter(C=1.0).fit(np.array([[0.1, 1.0], [0.9, 0.0]] * 4), np.array([[0, 1], [1, 0]] * 4, float),
                                       feature_names=FEATURES, strategy_names=["icl", "ttt-tiny"])
    cost = CostModel().fit([{"strategy": s, "features": {}, "wall_s": 1.0} for s in ("icl", "ttt-tiny")])
    d = save_bundle(router, cost, tmp_path / "r", cheap="icl", model_id="smollm2+smollm2-adapt")
    values = {"self_consistency": 0.1, "is_grid": 1.0}
    assert route(grid_task, SimpleNamespace(model_id="smollm2+smollm2-adapt"), values, directory=d)[1].endswith(" s")
    reason = route(grid_task, SimpleNamespace(model_id="gemma3-270m"), values, directory=d)[1]
    assert reason.endswith("(router trained on smollm2+smollm2-adapt outcomes)")


def test_a_model_with_its_own_shipped_router_gets_it_and_others_get_the_default(tmp_path, grid_task, monkeypatch):
    from types import SimpleNamespace

    import policies.bundle as bundle_module
    from policies.bundle import BY_MODEL, bundle_dir
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)
    monkeypatch.setattr(bundle_module, "SHIPPED", tmp_path / "shipped")
    bundle(tmp_path / "shipped", lam=0.1)                              # the default model's: ICL here
    own = bundle(tmp_path / "shipped" / BY_MODEL / "other+adapt")      # another model's: TTT here
    feats = {"self_consistency": 0.1, "is_grid": 1.0}
    assert bundle_dir("other+adapt") == own and bundle_dir("unknown") == tmp_path / "shipped"
    assert route(grid_task, SimpleNamespace(model_id="other+adapt"), feats)[0] == "ttt-tiny"
    assert route(grid_task, SimpleNamespace(model_id="unknown"), feats)[0] == "icl"
    monkeypatch.setenv("TTTC_ROUTER_DIR", str(own))                    # an explicit folder wins for every model
    assert route(grid_task, SimpleNamespace(model_id="unknown"), feats)[0] == "ttt-tiny"
