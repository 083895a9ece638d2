"""The routers shipped in policies/shipped/: each loads, fits this package's strategy library and feature
registry and was trained for its model (the default one in policies/shipped/, others in by-model/), and
`route()` picks the one for the runtime's model when nothing overrides it."""
from __future__ import annotations

import pytest

from policies.bundle import BY_MODEL, SHIPPED, load_bundle, model_dir_name
from policies.decide import route
from strategies.runtime.models import DEFAULT_MODEL

DEFAULT_ID = f"{DEFAULT_MODEL}+{DEFAULT_MODEL}-adapt"   # the embedded default with its adapter merged
SMOLLM2_ID = "smollm2+smollm2-adapt"


@pytest.fixture(scope="module")
def bundle():
    b = load_bundle(SHIPPED)
    assert b is not None, "policies/shipped/ holds no router: `tttc train-router` writes one there"
    return b


def _fits_the_package(b):
    from policies.features import FEATURES
    from strategies.registry import registry
    assert set(b.strategies) <= set(registry().names())
    assert b.cheap in b.strategies
    assert set(b.feature_names) <= {k for spec in FEATURES.values() for k in spec.keys}
    assert b.lam >= 0
    assert b.manifest["report"]["tasks"] >= 50


def test_the_shipped_router_fits_this_package_and_the_default_model(bundle):
    _fits_the_package(bundle)
    assert bundle.manifest["model_id"] == DEFAULT_ID


@pytest.mark.parametrize("folder", sorted(p.name for p in (SHIPPED / BY_MODEL).iterdir()))
def test_every_per_model_router_fits_this_package_and_its_own_model(folder):
    b = load_bundle(SHIPPED / BY_MODEL / folder)
    _fits_the_package(b)
    assert model_dir_name(b.manifest["model_id"]) == folder and b.manifest["model_id"] != DEFAULT_ID


def test_route_uses_the_shipped_router_by_default(bundle, tiny_rt, grid_task, text_task, monkeypatch):
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)
    for task in (grid_task, text_task):
        name, reason = route(task, tiny_rt)
        assert name in bundle.strategies
        assert reason.startswith(f"{name}: P(correct) ")
        assert reason.endswith(f"(router trained on {DEFAULT_ID} outcomes)")   # tiny_rt is another model


def test_smollm2_gets_the_router_trained_on_its_own_outcomes(tiny_rt, grid_task, monkeypatch):
    from dataclasses import replace
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)
    as_smollm2 = replace(tiny_rt, model_id=SMOLLM2_ID)   # features come from the tiny model: plumbing only
    name, reason = route(grid_task, as_smollm2)
    assert reason.startswith(f"{name}: P(correct) ") and "router trained on" not in reason
