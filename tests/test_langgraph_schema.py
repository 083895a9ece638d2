"""LangGraph's tooling can load the graph langgraph.json names and render its schemas (plain data only)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).parents[1]


def graph_from_langgraph_json():
    """What `langgraph dev` does: import the file the spec names, by path, and take the attribute."""
    spec = json.loads((ROOT / "langgraph.json").read_text())
    path, _, name = spec["graphs"]["agent"].partition(":")
    module_spec = importlib.util.spec_from_file_location("langgraph_agent", ROOT / path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, name)


def test_the_graph_langgraph_json_names_imports_by_its_path():
    graph = graph_from_langgraph_json()
    assert set(graph.get_graph().nodes) >= {"parse", "featurize", "route", "icl", "ttt", "answer", "log"}


def test_the_context_schema_is_plain_json_data():
    schema = graph_from_langgraph_json().get_context_jsonschema()
    assert set(schema["properties"]) == {"model", "db", "features"}
    assert json.loads(json.dumps(schema)) == schema
    assert schema["properties"]["features"]["enum"] == ["router", "all"]


def test_the_input_and_output_schemas_build():
    graph = graph_from_langgraph_json()
    given, state = graph.get_input_jsonschema(), graph.get_output_jsonschema()
    assert {"message", "strategy", "earlier"} <= set(given["properties"])
    assert {"task", "reply", "result", "query_id"} <= set(state["properties"])


def test_a_context_from_json_runs_on_the_model_it_names(tiny_rt):
    from pydantic import TypeAdapter

    from controller.context import TINY, Context
    ctx = TypeAdapter(Context).validate_python({"model": TINY, "features": "all"})
    assert ctx.get_runtime() is tiny_rt and ctx.features == "all"
