"""The controller graph: parse a message (or take a task as data), featurize, route, answer by ICL or TTT,
reply, log. Every door runs it: `tttc ask` and `tttc chat`, the API's chat and /v1/solve, the demo."""
from __future__ import annotations

import inspect
import time
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from controller.context import Context
from controller.reply import format_reply, progress_text
from controller.state import TURN_RESET, InputState, State

TRAINING_KINDS = ("ttt", "tlm")   # strategy kinds that train an adapter; they run in the `ttt` node


class Cancelled(Exception):
    """The run was asked to stop (timeout, client gone); training ended and the base weights are restored."""


# -- nodes ------------------------------------------------------------------------------------------

def parse(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Message or task -> the thread's task (new or changed), the strategy choice, or a reply saying what is
    accepted. A task given as data (`task_input`) is validated as it is; a message is read as chat."""
    from controller.parse import parse_message, parse_task, replay
    from strategies.registry import registry

    names = registry().names()
    task = _task(state)
    if state.get("task_input") is not None:
        p = parse_task(state["task_input"], task)
    else:
        if task is None and state.get("earlier"):
            task = replay(state["earlier"], names)
        p = parse_message(state.get("message", ""), task, names)
    pinned = p.strategy or state.get("pinned")
    asked = state.get("strategy")
    # a strategy named for this turn wins over the thread's `use NAME`; "auto" asks for the router
    choice = next((s for s in (asked, pinned) if s not in (None, "auto")), None)
    update = {**TURN_RESET, "strategy": None, "earlier": [], "task_input": None,   # the turn's inputs end here
              "task": p.task.model_dump(mode="json") if p.task else None, "pinned": pinned,
              "note": p.note, "choice": choice, "forced": choice is not None}
    if asked not in (None, "auto", *names):
        update["reply"] = f"Unknown strategy {asked!r}; choose auto or one of: {', '.join(names)}."
    elif p.action == "reply":
        update["reply"] = p.reply
    return update


def featurize(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Difficulty features for the router and the log; the ICL probe's answers are kept for the ICL node.

    The model-free features always (milliseconds); model features (an ICL probe, leave-one-out runs:
    seconds) only as the context asks: "all" of them, or those the router reads, and none when the
    user chose the strategy, since then no router runs.
    """
    from policies.features import FEATURES
    from policies.features import featurize as run_features

    runtime.stream_writer({"stage": "featurizing", "text": "featurizing"})
    start = time.perf_counter()
    ctx = _ctx(runtime)
    names = None   # every feature the runtime given allows
    if ctx.features == "router":
        wanted = [] if state.get("forced") or _kept_route(state) else _router_features(ctx.get_runtime())
        names = [s.name for s in FEATURES.values() if s.needs == "none" or s.name in wanted]
    needs_model = names is None or any(FEATURES[n].needs != "none" for n in names)
    f = run_features(_task(state), ctx.get_runtime() if needs_model else None, names=names)
    icl = None
    if f.icl_answer is not None:
        icl = {"answers": f.icl_answer, "prompts": f.icl_prompts, "cost": f.icl_cost.model_dump()}
    costs = {name: c.model_dump() for name, c in f.costs.items()}
    return {"features": {"values": f.values, "cost": f.cost.model_dump(), "costs": costs, "icl": icl},
            "decide_s": time.perf_counter() - start}


def route(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The router's choice and one-line reason, unless the user chose. A cascade router may compute
    more features here (its cheap ones were unsure); they join the turn's features for the log."""
    start = time.perf_counter()
    update: dict[str, Any] = {}
    kept = _kept_route(state)
    if state.get("forced"):
        choice, reason = state["choice"], "chosen by the user"
    elif kept is not None:
        choice = kept
        reason = f"{kept}: kept from this thread's earlier turn on the same demonstrations (a trained adapter is reused)"
    else:
        from policies.features import Features
        from policies.decide import decide

        features = state.get("features") or {}
        d = decide(_task(state), _ctx(runtime).get_runtime(), Features(features.get("values", {}), {}))
        choice, reason = d.strategy, d.reason
        if d.computed is not None:
            update["features"] = _with_computed(features, d.values, d.computed)
        update["routed"] = {"demos": _demos_key(state), "strategy": choice}
    event = {"strategy": choice, "reason": reason}
    runtime.stream_writer({"stage": "routed", **event, "text": progress_text("routed", event)})
    decide_s = state.get("decide_s", 0.0) + time.perf_counter() - start
    return {"choice": choice, "reason": reason, "decide_s": decide_s, **update}


def icl(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Answer in context; plain ICL reuses the featurizer's probe when its prompts are exactly ICL's."""
    from strategies.registry import registry

    spec = registry().get(state["choice"])
    reused = _reuse_probe(spec, state, _ctx(runtime))
    result = reused or _run(spec, state, runtime)
    return {"result": _with_decision(result, state, reused is not None).model_dump(mode="json")}


def ttt(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Train an adapter on the demonstrations (or reuse the cached one), then answer; progress streams."""
    from strategies.registry import registry

    result = _run(registry().get(state["choice"]), state, runtime)
    return {"result": _with_decision(result, state, False).model_dump(mode="json")}


def answer(state: State) -> dict[str, Any]:
    task, result = state["task"], state["result"]
    features_cost = (state.get("features") or {}).get("cost")
    return {"reply": format_reply(task["kind"], result, state["choice"], state.get("reason", ""),
                                  state.get("note", ""), features_cost)}


def log(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """One outcome-log row per answered turn, with the features and what each cost, when a database is configured."""
    ctx = _ctx(runtime)
    outcomes = ctx.outcome_log()
    if outcomes is None:
        return {}
    from policies.outcomes import OutcomeRow
    from strategies.base import Result

    info = runtime.execution_info
    features = state.get("features") or {}
    row = OutcomeRow.from_result(_task(state), Result.model_validate(state["result"]), ctx.get_runtime().model_id,
                                 features=features.get("values", {}),
                                 thread_id=info.thread_id if info else None,
                                 # route_reason marks a routing decision; a strategy the user named is not one
                                 route_reason=None if state.get("forced") else state.get("reason"))
    if features.get("costs"):
        outcomes.feature_costs.record(row.task_hash, row.model_id, features["costs"])
    return {"query_id": outcomes.append(row)}


# -- routing ----------------------------------------------------------------------------------------

def after_parse(state: State) -> Literal["featurize", "__end__"]:
    return "__end__" if state.get("reply") else "featurize"


def after_route(state: State) -> Literal["icl", "ttt"]:
    from strategies.registry import registry
    return "ttt" if registry().get(state["choice"]).kind in TRAINING_KINDS else "icl"


# -- helpers ----------------------------------------------------------------------------------------

def _ctx(runtime: Runtime[Context]) -> Context:
    return runtime.context if runtime.context is not None else Context()


def _router_features(model: Any) -> list[str]:
    """Feature names the router for this model reads, when policies.decide says (`needed_features()`);
    otherwise none, and the router computes whatever it lacks itself (it is given the runtime)."""
    from policies import decide as routing
    needed = getattr(routing, "needed_features", None)
    return list(needed(model_id=getattr(model, "model_id", None))) if needed is not None else []


def _with_computed(features: dict[str, Any], values: dict[str, float], computed: Any) -> dict[str, Any]:
    """The turn's features after the router computed more: all values, costs summed, the ICL probe kept."""
    from strategies.cost import Cost
    cost = Cost(**features["cost"]) + computed.cost if features.get("cost") else computed.cost
    icl = features.get("icl")
    if icl is None and computed.icl_answer is not None:
        icl = {"answers": computed.icl_answer, "prompts": computed.icl_prompts, "cost": computed.icl_cost.model_dump()}
    costs = {**features.get("costs", {}), **{name: c.model_dump() for name, c in computed.costs.items()}}
    return {"values": values, "cost": cost.model_dump(), "costs": costs, "icl": icl}


def _with_decision(result: Any, state: State, reused_probe: bool) -> Any:
    """The result with the turn's deciding seconds (featurize and route) in its cost: `decide_s`, and
    counted in `wall_s`. An ICL answer that is the featurizer's own probe was paid for while deciding,
    so the probe's seconds count once, as the answer's."""
    decide = state.get("decide_s", 0.0)
    if reused_probe:
        probe = (state.get("features") or {}).get("icl") or {}
        decide = max(0.0, decide - probe.get("cost", {}).get("wall_s", 0.0))
    from strategies.cost import Cost
    return result.model_copy(update={"cost": result.cost + Cost(wall_s=decide, decide_s=decide)})


def _kept_route(state: State) -> str | None:
    """The router's earlier choice in this thread when the demonstrations are unchanged: a follow-up
    ("now solve this input: ...") keeps it, so a trained adapter is reused and nothing is re-featurized.
    A new task or an added example routes afresh; a strategy the user names wins (`forced`)."""
    routed = state.get("routed")
    if state.get("forced") or not routed or not state.get("task") or routed.get("demos") != _demos_key(state):
        return None
    from strategies.registry import StrategyError, registry
    try:
        return registry().get(routed["strategy"]).name
    except StrategyError:   # a strategy since removed from the library: route afresh
        return None


def _demos_key(state: State) -> str:
    """The hash TTT's adapter cache keys on: the same demonstrations, the same trained adapter."""
    from strategies.ttt.adapters import demos_hash
    return demos_hash(_task(state))


def _task(state: State):
    from strategies.task import Task
    return Task.model_validate(state["task"]) if state.get("task") else None


def _run(spec, state: State, runtime: Runtime[Context]):
    """Run a strategy with progress going to the custom stream. The stop signal is the run's control
    (controller/threads.py): a strategy that takes `should_stop` stops itself; for one that does not,
    the next progress report raises Cancelled."""
    ctx = _ctx(runtime)

    def stop() -> bool:
        return runtime.drain_requested
    strategy = spec.build()
    takes_stop = "should_stop" in inspect.signature(strategy.run).parameters

    def progress(stage: str, info: dict[str, Any]) -> None:
        runtime.stream_writer({"stage": stage, **info, "text": progress_text(stage, info)})
        if not takes_stop and stop():
            raise Cancelled(f"{spec.name} stopped at {stage}")

    if stop():
        raise Cancelled(f"{spec.name} stopped before it started")
    kw = {"should_stop": stop} if takes_stop else {}
    result = strategy.run(_task(state), ctx.get_runtime(), progress, **kw)
    if result.info.get("cancelled") or stop():
        raise Cancelled(f"{spec.name} stopped")
    return result


def _reuse_probe(spec, state: State, ctx: Context):
    """The ICL Result the featurizer already produced, when it is exactly what `spec` would generate."""
    probe = (state.get("features") or {}).get("icl")
    if spec.kind != "icl" or not probe or spec.config().choices != "free":
        return None
    import math

    from strategies.base import Result
    from strategies.cost import Cost
    from strategies.icl import fit_demos
    from strategies.serialize import render

    task, model, cfg = _task(state), ctx.get_runtime(), spec.config()
    prompts = [render(fit_demos(task, ex.input, model, cfg.max_prompt_tokens), ex.input, task.kind).prompt
               for ex in task.test]
    if prompts != probe["prompts"]:   # ICL dropped demos to fit its budget: not the same generation
        return None
    entropy = (state["features"]["values"]).get("first_token_entropy", math.inf)
    # exp(-mean entropy): ICL's confidence is the mean of exp(-entropy), equal for one test input
    return Result(strategy=spec.name, attempts=[[a] if a is not None else [] for a in probe["answers"]],
                  confidence=math.exp(-entropy), cost=Cost(**probe["cost"]), info={"reused_probe": True})


# -- wiring -----------------------------------------------------------------------------------------

builder = StateGraph(State, context_schema=Context, input_schema=InputState)
builder.add_node(parse)
builder.add_node(featurize)
builder.add_node(route)
builder.add_node(icl)
builder.add_node(ttt)
builder.add_node(answer)
builder.add_node(log)
builder.add_edge(START, "parse")
builder.add_conditional_edges("parse", after_parse)
builder.add_edge("featurize", "route")
builder.add_conditional_edges("route", after_route)
builder.add_edge("icl", "answer")
builder.add_edge("ttt", "answer")
builder.add_edge("answer", "log")
builder.add_edge("log", END)


def compile_graph(checkpointer: Any = None):
    """The graph with a checkpointer, so that threads keep their task (see controller/threads.py)."""
    return builder.compile(checkpointer=checkpointer, name="tttc")


graph = compile_graph()   # for `langgraph dev` / LangGraph server, which bring their own persistence
