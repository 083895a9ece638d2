"""`tttc train-router`: a synthetic log in, a bundle out that route() uses; CV never trains on a test family."""
from __future__ import annotations

import json

import pytest
from agentkit import add_tiny_ttt
from routelog import STRATEGIES, as_logged, fill_log, synthetic_rows

from controller.cli import main
from policies.budget import Budget
from policies.decide import route
from policies.train import parse_budget


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('log') / 'outcomes.db'}"
    fill_log(url, synthetic_rows(n_families=5, per_family=12))
    return url


def test_train_router_saves_a_bundle_that_route_loads_and_uses(db, tmp_path, grid_task, capsys):
    add_tiny_ttt()
    out = tmp_path / "shipped"
    assert main(["train-router", "--db", db, "--out", str(out), "--budget", "seconds=30"]) == 0
    printed = capsys.readouterr().out
    assert "grouped by family" in printed and "APGR" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["strategies"] == list(STRATEGIES) and "self_consistency" in manifest["feature_names"]
    assert manifest["budget"] == {"share": None, "seconds": 30.0} and manifest["lam"] > 0
    assert manifest["report"]["cv"]["folds"] == 5
    # low demo perplexity: TTT is likely right; ICL disagrees with itself: likely wrong
    feats = {"self_consistency": 0.1, "demo_ppl": 0.6, "is_grid": 1.0, "prompt_chars": 300.0, "answer_size": 15.0}
    name, reason = route(grid_task, None, feats, directory=out)
    assert name == "ttt-tiny" and reason.startswith("ttt-tiny: P(correct)")
    feats.update(self_consistency=0.95, demo_ppl=2.9, is_grid=0.0)
    assert route(grid_task, None, feats, directory=out)[0] == "icl"


def test_holdout_families_stay_out_of_training_and_are_reported(db, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train-router", "--db", db, "--out", str(out), "--holdout-families", "fam4"]) == 0
    report = json.loads((out / "manifest.json").read_text())["report"]
    assert report["tasks"] == 48 and report["holdout"]["tasks"] == 12
    assert "held-out families ['fam4']" in capsys.readouterr().out


def test_grouped_cv_never_trains_on_the_family_it_scores(db, monkeypatch):
    import policies.crossval as cv
    from policies.outcomes import OutcomeLog
    from policies.train import train_router
    seen = []
    real = cv.fit_router
    monkeypatch.setattr(cv, "fit_router", lambda table, **kw: seen.append(set(table.keys)) or real(table, **kw))
    rows = OutcomeLog(db).rows()
    family = {r["task_hash"]: r["family"] for r in rows}
    train_router(rows, Budget(share=0.3))
    assert len(seen) == 5
    everything = set(family)
    for trained_on in seen:
        scored = everything - trained_on
        assert {family[h] for h in scored}.isdisjoint({family[h] for h in trained_on})


def test_calibrate_on_sets_lam_on_those_queries_only(db, monkeypatch):
    import policies.train as train
    from policies.outcomes import OutcomeLog
    rows = OutcomeLog(db).rows()
    mine = {r["task_hash"] for r in rows if r["family"] == "fam1"}
    sizes = []
    real = train.calibrate_lambda
    monkeypatch.setattr(train, "calibrate_lambda", lambda P, C, *a, **kw: sizes.append(len(P)) or real(P, C, *a, **kw))
    train.train_router(rows, Budget(share=0.3), calibrate_on=mine, cascade_features=["counts"])
    assert sizes == [len(mine), len(mine)]      # the router's lam and the cascade's stage-1 lam
    sizes.clear()
    train.train_router(rows, Budget(share=0.3))
    assert sizes == [len({r["task_hash"] for r in rows})]
    with pytest.raises(ValueError, match="calibrate_on"):
        train.train_router(rows, Budget(share=0.3), calibrate_on={"not-a-task"})


def test_a_log_of_several_models_needs_model_id(tmp_path):
    from policies.outcomes import OutcomeLog
    from policies.train import train_router
    url = f"sqlite:///{tmp_path / 'two.db'}"
    fill_log(url, synthetic_rows(2, 3, model_id="a") + synthetic_rows(2, 3, model_id="b"))
    rows = OutcomeLog(url).rows()
    with pytest.raises(ValueError, match="several models"):
        train_router(rows, Budget(share=0.3))
    assert train_router(rows, Budget(share=0.3), model_id="b").report["tasks"] == 6


def test_an_empty_log_is_a_one_line_error(tmp_path, capsys):
    from policies.outcomes import OutcomeLog
    OutcomeLog(f"sqlite:///{tmp_path / 'empty.db'}").close()
    assert main(["train-router", "--db", f"sqlite:///{tmp_path / 'empty.db'}", "--out", str(tmp_path / "r")]) == 1
    assert "run `tttc collect` first" in capsys.readouterr().err


@pytest.mark.parametrize("text, budget", [("share=0.3", Budget(share=0.3)), ("seconds=20", Budget(seconds=20.0))])
def test_budget_text_parses(text, budget):
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text", ["0.3", "cost=3", "share=1.5", "seconds=x"])
def test_a_bad_budget_names_the_expected_form(text):
    with pytest.raises(ValueError, match="budget"):
        parse_budget(text)


def test_rows_of_a_reporting_only_suite_never_train_the_router():
    from policies.train import train_router
    rows = as_logged(synthetic_rows(4, 6))
    arc = [dict(r, task_hash="arc" + r["task_hash"], suite="arc1-eval-small", family="arc")
           for r in as_logged(synthetic_rows(2, 6))]
    trained = train_router(rows + arc, Budget(share=0.3))
    assert trained.report["excluded_reporting_suites"] == ["arc1-eval-small"]
    assert not any(h.startswith("arc") for h in trained.report["trained_on"])
    assert trained.report["tasks"] == train_router(rows, Budget(share=0.3)).report["tasks"]


def test_without_out_or_ship_the_package_is_left_alone(db, tmp_path, monkeypatch):
    import policies.bundle as bundle_module
    from policies.bundle import MANIFEST_FILE
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)
    monkeypatch.setattr(bundle_module, "SHIPPED", tmp_path / "shipped")
    monkeypatch.chdir(tmp_path)
    add_tiny_ttt()
    assert main(["train-router", "--db", db, "--budget", "seconds=30"]) == 0
    assert (tmp_path / "runs" / "router" / MANIFEST_FILE).exists()
    assert not (tmp_path / "shipped").exists()
    monkeypatch.setenv("TTTC_ROUTER_DIR", str(tmp_path / "mine"))
    assert main(["train-router", "--db", db, "--budget", "seconds=30"]) == 0
    assert (tmp_path / "mine" / MANIFEST_FILE).exists() and not (tmp_path / "shipped").exists()


def test_with_ship_a_router_for_another_model_ships_beside_the_default_one(db, tmp_path, monkeypatch):
    import policies.bundle as bundle_module
    from policies.bundle import BY_MODEL, MANIFEST_FILE, bundle_dir
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)
    shipped = tmp_path / "shipped"
    monkeypatch.setattr(bundle_module, "SHIPPED", shipped)
    add_tiny_ttt()
    assert main(["train-router", "--db", db, "--budget", "seconds=30", "--ship"]) == 0   # nothing shipped yet: here
    model_id = json.loads((shipped / MANIFEST_FILE).read_text())["model_id"]
    before = (shipped / MANIFEST_FILE).read_text()
    (shipped / MANIFEST_FILE).write_text(before.replace(f'"{model_id}"', '"the-default-model"'))
    kept = (shipped / MANIFEST_FILE).read_text()
    assert main(["train-router", "--db", db, "--budget", "seconds=30", "--ship"]) == 0   # another model's: beside it
    assert (shipped / MANIFEST_FILE).read_text() == kept
    own = shipped / BY_MODEL / model_id
    assert json.loads((own / MANIFEST_FILE).read_text())["model_id"] == model_id
    assert bundle_dir(model_id) == own


def test_the_regularisation_strength_reaches_both_stages_and_a_bad_one_is_refused(db, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["train-router", "--db", db, "--out", str(out), "--C", "0.05", "--cascade", "free"]) == 0
    assert json.loads((out / "router.json").read_text())["params"]["C"] == 0.05
    assert json.loads((out / "router-stage1.json").read_text())["params"]["C"] == 0.05
    capsys.readouterr()
    assert main(["train-router", "--db", db, "--out", str(tmp_path / "bad"), "--C", "0"]) == 2
    assert "--C 0.0: expected a positive number" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
