"""The controller graph: both answer paths, progress on the custom stream, replies, logging, cancellation."""
from __future__ import annotations

import pytest
from agentkit import TEXT_MESSAGE, add_tiny_ttt, grid_message

from controller.context import TINY, Context
from controller.graph import Cancelled, compile_graph
from controller.threads import open_checkpointer, run_turn


@pytest.fixture
def graph(tmp_path):
    return compile_graph(open_checkpointer(str(tmp_path / "threads.sqlite")))


def turn(graph, message, ctx, thread="t", **kw):
    events = []
    state = run_turn(graph, thread, message, ctx, on_event=events.append, **kw)
    return state, events


def test_graph_is_named_in_langgraph_json():
    import json
    from pathlib import Path
    spec = json.loads((Path(__file__).parents[1] / "langgraph.json").read_text())
    module, _, name = spec["graphs"]["agent"].partition(":")
    assert module.endswith("controller/graph.py") and name == "graph"
    from controller.graph import graph
    assert set(graph.get_graph().nodes) >= {"parse", "featurize", "route", "icl", "ttt", "answer", "log"}


def test_icl_path_answers_a_text_task_with_route_and_cost(graph, tiny_rt):
    state, events = turn(graph, TEXT_MESSAGE, Context(model=TINY))
    assert state["choice"] == "icl" and state["result"]["strategy"] == "icl"
    assert state["reason"].startswith("default rule")
    stages = [e["stage"] for e in events]
    assert stages[:2] == ["featurizing", "routed"] and "training" not in stages
    assert "Route: icl" in state["reply"] and "Confidence" in state["reply"] and "Cost" in state["reply"]


def test_ttt_path_streams_training_progress(graph, tiny_rt):
    name = add_tiny_ttt()
    state, events = turn(graph, grid_message(1, name), Context(model=TINY))
    assert state["result"]["strategy"] == name and state["forced"]
    training = [e for e in events if e["stage"] == "training"]
    assert training and training[-1]["text"] == f"training {training[-1]['step']}/{training[-1]['of']} steps" + \
        f" (loss {training[-1]['loss']:.3g})"
    assert "voting" in [e["stage"] for e in events]
    assert f"Route: {name} (chosen by the user)" in state["reply"]


def test_a_strategy_named_for_the_turn_skips_the_router(graph, tiny_rt):
    state, events = turn(graph, TEXT_MESSAGE, Context(model=TINY), strategy="icl-vote")
    assert state["result"]["strategy"] == "icl-vote" and state["reason"] == "chosen by the user"


def test_unparseable_message_replies_without_running_anything(graph, tiny_rt):
    state, events = turn(graph, "what is the weather", Context(model=TINY))
    assert "I accept" in state["reply"] and state["result"] is None and events == []


def test_unknown_turn_strategy_gets_a_reply(graph, tiny_rt):
    state, _ = turn(graph, TEXT_MESSAGE, Context(model=TINY), strategy="nope")
    assert "Unknown strategy 'nope'" in state["reply"] and state["result"] is None


def test_features_are_those_the_router_reads_and_plain_icl_reuses_the_probe(graph, tiny_rt, monkeypatch):
    import policies.decide
    monkeypatch.setattr(policies.decide, "needed_features", lambda **kw: ["self_consistency"], raising=False)
    monkeypatch.setattr(policies.decide, "decide",
                        lambda task, rt, features: policies.decide.Decision("icl", "test router", dict(features.values)))
    state, _ = turn(graph, grid_message(2), Context(model=TINY))
    values = state["features"]["values"]
    assert "self_consistency" in values and "loo_icl_acc" not in values and "n_demos" in values
    assert state["result"]["info"] == {"reused_probe": True} and state["reason"] == "test router"


def test_features_a_cascade_computes_while_routing_join_the_turn(graph, tiny_rt, monkeypatch):
    """A cascade's stage 1 reads cheap features; when it escalates, the model features it computes are
    logged with the turn, their cost counted, and plain ICL reuses the probe they ran."""
    import policies.decide
    from policies.features import featurize
    monkeypatch.setattr(policies.decide, "needed_features", lambda **kw: [], raising=False)

    def escalating(task, rt, features):
        more = featurize(task, rt, names=["self_consistency"])
        return policies.decide.Decision("icl", "escalated", {**features.values, **more.values}, more, escalated=True)
    monkeypatch.setattr(policies.decide, "decide", escalating)
    state, _ = turn(graph, grid_message(2), Context(model=TINY))
    values = state["features"]["values"]
    assert "self_consistency" in values and "n_demos" in values
    assert state["features"]["cost"]["tokens_out"] > 0   # the probe's generation is counted
    assert state["result"]["info"] == {"reused_probe": True} and state["reason"] == "escalated"


def test_all_features_mode_computes_every_column(graph, tiny_rt):
    from policies.features import feature_columns
    state, _ = turn(graph, grid_message(2, "icl"), Context(model=TINY, features="all"))
    assert set(state["features"]["values"]) == set(feature_columns())


def test_a_chosen_strategy_skips_the_model_features(graph, tiny_rt):
    state, _ = turn(graph, grid_message(2, "icl"), Context(model=TINY))
    assert "self_consistency" not in state["features"]["values"] and "n_demos" in state["features"]["values"]
    assert "reused_probe" not in state["result"]["info"]


def test_log_appends_one_row_per_answer_only_when_a_db_is_set(graph, tiny_rt, tmp_path, monkeypatch):
    monkeypatch.delenv("TTTC_DB", raising=False)
    state, _ = turn(graph, TEXT_MESSAGE, Context(model=TINY))
    assert state["query_id"] is None
    url = f"sqlite:///{tmp_path / 'log.db'}"
    ctx = Context(model=TINY, db=url)
    state, _ = turn(graph, TEXT_MESSAGE, ctx, thread="logged")
    turn(graph, "hello", ctx, thread="logged")   # a reply, not an answer: no row
    from policies.outcomes import OutcomeLog
    rows = OutcomeLog(url).rows()
    assert [r["query_id"] for r in rows] == [state["query_id"]]
    assert rows[0]["thread_id"] == "logged" and rows[0]["strategy"] == "icl" and rows[0]["route_reason"]


def test_stopping_mid_training_cancels_and_restores_the_base_weights(graph, tiny_rt):
    from strategies.ttt.adapters import param_fingerprint
    name = add_tiny_ttt()
    before = param_fingerprint(tiny_rt.model)
    stopped, seen = [], []

    def should_stop() -> bool:   # sticky from the first poll made while the adapter trains
        if tiny_rt.model.training:
            stopped.append(True)
        return bool(stopped)

    with pytest.raises(Cancelled):
        run_turn(graph, "c", grid_message(3, name), Context(model=TINY), should_stop=should_stop,
                 on_event=lambda e: seen.append(e) if e["stage"] == "training" else None)
    assert stopped and len(seen) <= 1   # of 2 steps: stopped after the first
    assert param_fingerprint(tiny_rt.model) == before and tiny_rt.model is not None
    from peft.tuners.tuners_utils import BaseTunerLayer
    assert not any(isinstance(m, BaseTunerLayer) for m in tiny_rt.model.modules())


@pytest.mark.slow
def test_embedded_model_answers_an_icl_chat_turn(graph, real_rt):
    state, events = turn(graph, "good day -> GOOD DAY\nred fox -> RED FOX\nblue sky -> BLUE SKY\n? old tree",
                         Context(model=None), strategy="icl")
    assert state["result"]["attempts"][0] == ["OLD TREE"]
    assert "Answer: OLD TREE" in state["reply"]


def test_a_strategy_the_user_named_is_logged_without_a_route_reason(graph, tiny_rt, tmp_path):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    state, _ = turn(graph, TEXT_MESSAGE, Context(model=TINY, db=url), strategy="icl", thread="forced")
    from policies.outcomes import OutcomeLog
    row = OutcomeLog(url).get(state["query_id"])
    assert state["forced"] and row["route_reason"] is None


def test_a_follow_up_on_the_same_demonstrations_keeps_the_threads_route(graph, tiny_rt, monkeypatch):
    """The router runs once per set of demonstrations: "now solve this input" keeps its choice (and so
    the trained adapter) without re-featurizing; an added example routes afresh; a named strategy wins."""
    import policies.decide
    calls = []

    def router(task, rt, features):
        calls.append(dict(features.values))
        return policies.decide.Decision("icl-vote", "test router", dict(features.values))
    monkeypatch.setattr(policies.decide, "decide", router)
    monkeypatch.setattr(policies.decide, "needed_features", lambda **kw: ["self_consistency"], raising=False)
    ctx = Context(model=TINY)
    first, _ = turn(graph, TEXT_MESSAGE, ctx, thread="f")
    assert first["choice"] == "icl-vote" and len(calls) == 1
    second, _ = turn(graph, "now solve this input: fish", ctx, thread="f")
    assert second["choice"] == "icl-vote" and len(calls) == 1
    assert second["reason"].startswith("icl-vote: kept from this thread's earlier turn")
    assert "self_consistency" not in second["features"]["values"]   # no model features paid for
    third, _ = turn(graph, "add this example: eel -> EEL", ctx, thread="f")
    assert len(calls) == 2 and third["reason"] == "test router"
    fourth, _ = turn(graph, "now solve this input: fox", ctx, thread="f", strategy="icl")
    assert fourth["choice"] == "icl" and fourth["reason"] == "chosen by the user" and len(calls) == 2
