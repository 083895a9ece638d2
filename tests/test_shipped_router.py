"""The router shipped in policies/shipped/: it loads, fits this package's strategy library and feature
registry, was trained for the embedded default model, and `route()` uses it when nothing overrides it."""
from __future__ import annotations

import pytest

from policies.bundle import SHIPPED, load_bundle
from policies.route import route


@pytest.fixture(scope="module")
def bundle():
    b = load_bundle(SHIPPED)
    assert b is not None, "policies/shipped/ holds no router: `tttc train-router` writes one there"
    return b


def test_the_shipped_router_fits_this_package(bundle):
    from policies.features import FEATURES
    from strategies.library import registry
    assert set(bundle.strategies) <= set(registry().names())
    assert bundle.cheap in bundle.strategies
    assert set(bundle.feature_names) <= {k for spec in FEATURES.values() for k in spec.keys}
    assert bundle.lam >= 0
    assert bundle.manifest["model_id"] == "smollm2+smollm2-adapt"   # the embedded default, adapter merged
    assert bundle.manifest["report"]["tasks"] >= 50


def test_route_uses_the_shipped_router_by_default(bundle, tiny_rt, grid_task, text_task, monkeypatch):
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)
    for task in (grid_task, text_task):
        name, reason = route(task, tiny_rt)
        assert name in bundle.strategies
        assert reason.startswith(f"{name}: P(correct) ")
        assert reason.endswith("(router trained on smollm2+smollm2-adapt outcomes)")   # tiny_rt is another model
