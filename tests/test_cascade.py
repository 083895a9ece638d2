"""The two-stage cascade: margins and their threshold, the decision, training, the bundle files, route() and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
from agentkit import add_tiny_ttt
from routelog import as_logged, fill_log, synthetic_rows

from policies.budget import Budget
from policies.bundle import MANIFEST_FILE, STAGE1_FILE, load_bundle, save_bundle
from policies.cascade import decide, escalate, margins, stage1_features, threshold_for_rate
from policies.store import ModelFileError
from policies.train import train_router


def test_margins_are_the_gap_between_best_and_runner_up_utility():
    P = np.array([[0.9, 0.5], [0.5, 0.6]])
    C = np.array([[1.0, 11.0], [1.0, 11.0]])
    assert margins(P, C, 0.0) == pytest.approx([0.4, 0.1])
    # at lam 0.01 the second query's TTT gain (0.1) costs 0.1: a tie, margin 0
    assert margins(P, C, 0.01) == pytest.approx([0.5, 0.0])
    assert margins(P[:, :1], C[:, :1], 0.0).tolist() == [np.inf, np.inf]


@pytest.mark.parametrize("rate,expected", [(0.0, 0), (0.25, 1), (0.5, 2), (1.0, 4)])
def test_threshold_escalates_the_requested_share(rate, expected):
    m = np.array([0.3, 0.05, 0.2, 0.1])
    assert int((m < threshold_for_rate(m, rate)).sum()) == expected
    # the least certain queries are the ones escalated
    if expected:
        assert set(np.flatnonzero(m < threshold_for_rate(m, rate))) == set(np.argsort(m)[:expected])


def test_threshold_rejects_rates_outside_0_1():
    with pytest.raises(ValueError, match="escalation rate"):
        threshold_for_rate(np.array([0.1]), 1.5)


def test_decide_uses_stage_2_only_where_stage_1_is_unsure():
    P1 = np.array([[0.9, 0.1], [0.45, 0.55]])   # query 0 clear (ICL), query 1 unsure
    P2 = np.array([[np.nan, np.nan], [0.9, 0.2]])  # stage 2 never computed for query 0
    C = np.ones((2, 2))
    pick, esc = decide(P1, P2, C, 0.0, 0.0, threshold=0.2)
    assert esc.tolist() == [False, True]
    assert pick.tolist() == [0, 0]   # query 1: stage 1 alone would pick 1; stage 2 says 0
    assert escalate(P1, C, 0.0, 0.2).tolist() == [False, True]


def test_stage1_features_from_the_command_line():
    from policies.features import FEATURES
    free = stage1_features("free")
    assert free and all(FEATURES[n].needs != "model" for n in free)
    assert "loo_icl_acc" not in free and "prompt_chars" in free
    assert stage1_features("is_grid, prompt_chars") == ["is_grid", "prompt_chars"]
    with pytest.raises(ValueError, match="unknown.*nope"):
        stage1_features("is_grid,nope")


def _trained(rate=0.2):
    rows = as_logged(synthetic_rows())
    return train_router(rows, Budget(share=0.3), cascade_features=["is_grid", "prompt_chars", "sizes"],
                        escalate_rate=rate, estimator="logreg")


def test_train_router_fits_a_stage_1_router_and_calibrates_its_escalation():
    t = _trained(0.2)
    c = t.report["cascade"]
    assert t.stage1 is not None and list(t.stage1.feature_names_in_) == c["features"]
    assert set(c["features"]) == {"is_grid", "prompt_chars", "answer_size"}   # answer_size: the sizes feature's logged column
    assert c["escalated"] == pytest.approx(0.2, abs=0.02)
    assert t.cascade == {"features": c["features"], "lam": c["lam"], "threshold": c["threshold"], "rate": 0.2}
    assert c["at_budget"]["accuracy"] is not None


def test_train_router_refuses_cascade_features_the_router_does_not_read():
    with pytest.raises(ValueError, match="none of their columns"):
        train_router(as_logged(synthetic_rows()), Budget(share=0.3), features=["self_consistency", "demo_ppl"],
                     cascade_features=["is_grid"])


def test_bundle_round_trip_and_stage1_file_lifecycle(tmp_path):
    t = _trained()
    d = save_bundle(t.router, t.cost_model, tmp_path / "b", stage1=t.stage1, cascade=t.cascade, cheap="icl")
    b = load_bundle(d)
    assert b.cascade["rate"] == 0.2 and b.stage1_features == t.report["cascade"]["features"]
    assert b.threshold == pytest.approx(float(t.cascade["threshold"]))
    # a plain router saved over it removes the stale stage-1 file
    save_bundle(t.router, t.cost_model, d, cheap="icl")
    assert not (d / STAGE1_FILE).exists() and load_bundle(d).cascade is None
    with pytest.raises(ValueError, match="both"):
        save_bundle(t.router, t.cost_model, d, stage1=t.stage1)


def test_a_manifest_naming_a_missing_or_bad_cascade_is_refused(tmp_path):
    t = _trained()
    d = save_bundle(t.router, t.cost_model, tmp_path / "b", stage1=t.stage1, cascade=t.cascade, cheap="icl")
    manifest = json.loads((d / MANIFEST_FILE).read_text())
    manifest["cascade"]["threshold"] = "high"
    (d / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="threshold must be a number"):
        load_bundle(d)
    (d / STAGE1_FILE).unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_bundle(d)


def test_infinite_thresholds_survive_the_strict_json_manifest(tmp_path):
    for rate, expected in ((0.0, -np.inf), (1.0, np.inf)):
        t = _trained(rate)
        d = save_bundle(t.router, t.cost_model, tmp_path / f"b{rate}", stage1=t.stage1, cascade=t.cascade)
        assert load_bundle(d).threshold == expected


def test_route_decides_on_cheap_features_when_clear_and_escalates_otherwise(tmp_path, grid_task, monkeypatch):
    import policies.features as features
    from policies.decide import decide as route_decide
    add_tiny_ttt()
    t = _trained(0.5)
    d = save_bundle(t.router, t.cost_model, tmp_path / "b", stage1=t.stage1, cascade=t.cascade, cheap="icl")
    calls = []
    real = features.featurize
    monkeypatch.setattr(features, "featurize", lambda task, rt, names=None: calls.append(names) or real(task, rt, names))
    bundle = load_bundle(d)
    # score every training task's cheap features with stage 1: one clear, one unsure
    rows = {r["task_hash"]: r["features"] for r in synthetic_rows()}
    cheap = [{c: f[c] for c in bundle.stage1_features} for f in rows.values()]
    from policies.cascade import margins as m_of
    X = np.array([[f[c] for c in bundle.stage1_features] for f in cheap])
    C = np.array([[bundle.cost_model.predict(f, s) for s in bundle.strategies] for f in cheap])
    m = m_of(bundle.stage1.predict_proba(X), C, float(bundle.cascade["lam"]))
    clear, unsure = cheap[int(np.argmax(m))], cheap[int(np.argmin(m))]

    got = route_decide(grid_task, None, clear, directory=d)
    assert not got.escalated and "clear on cheap features" in got.reason
    got = route_decide(grid_task, None, unsure, directory=d)
    assert got.escalated and "cheap features unsure, so the full router decided" in got.reason
    # without a runtime the model features cannot be computed: the full router imputes them
    assert all(features.FEATURES[n].needs == "none" for names in calls for n in names)


def test_needed_features_of_a_cascade_are_its_stage_1_ones(tmp_path):
    from policies.decide import needed_features
    t = _trained()
    d = save_bundle(t.router, t.cost_model, tmp_path / "b", stage1=t.stage1, cascade=t.cascade, cheap="icl")
    need = needed_features(d)
    assert "self_consistency" not in need and "demo_ppl" not in need and "is_grid" in need


def test_cli_train_router_with_cascade(tmp_path, capsys):
    from controller.cli import main
    url = f"sqlite:///{tmp_path / 'log.db'}"
    fill_log(url, synthetic_rows())
    out = tmp_path / "shipped"
    assert main(["train-router", "--db", url, "--out", str(out), "--cascade", "is_grid,prompt_chars",
                 "--escalate", "0.25"]) == 0
    assert "of tasks escalate" in capsys.readouterr().out
    assert (out / STAGE1_FILE).exists() and load_bundle(out).cascade["rate"] == 0.25
    assert main(["train-router", "--db", url, "--out", str(out), "--cascade", "free", "--escalate", "2"]) == 2
    assert "--escalate" in capsys.readouterr().err
    assert main(["train-router", "--db", url, "--out", str(out), "--cascade", "bogus"]) == 1
    assert "unknown" in capsys.readouterr().err
