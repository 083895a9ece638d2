"""The agent API: OpenAI-compatible chat (plain and SSE), solve, feedback, limits, queue, auth, live server."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from agentkit import TEXT_MESSAGE, grid_message
from fastapi.testclient import TestClient

from controller.api.server import create_app


def make_app(tmp_path, rt, **kw):
    kw.setdefault("db", f"sqlite:///{tmp_path / 'log.db'}")
    return create_app(runtime=rt, threads=str(tmp_path / "threads.sqlite"), **kw)


@pytest.fixture(scope="module")
def client(tmp_path_factory, tiny_rt):
    with TestClient(make_app(tmp_path_factory.mktemp("api"), tiny_rt)) as c:
        yield c


def chat(client, content, **body):
    return client.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": content}],
                                                     **body})


def sse_chunks(response) -> list:
    lines = [line[len("data: "):] for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def test_chat_completion_holds_the_answer_and_the_route(client):
    r = chat(client, TEXT_MESSAGE, thread_id="plain")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "icl"
    assert "Answer" in body["choices"][0]["message"]["content"]
    meta = body["tttc"]
    assert meta["strategy"] == "icl" and meta["reason"] and meta["thread_id"] == "plain"
    assert set(meta) >= {"confidence", "cost", "query_id", "attempts", "cache_hit"}


def test_streaming_sends_progress_then_the_answer(client):
    with client.stream("POST", "/v1/chat/completions", json={
            "model": "icl", "stream": True, "messages": [{"role": "user", "content": TEXT_MESSAGE}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        chunks = sse_chunks(r)
    stages = [c["tttc"]["progress"]["stage"] for c in chunks if "progress" in c.get("tttc", {})]
    assert stages[:2] == ["featurizing", "routed"]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert "Route: icl" in content
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["tttc"]["strategy"] == "icl"


def test_unknown_model_is_404_model_not_found_listing_the_valid_names(client):
    r = chat(client, TEXT_MESSAGE, model="gpt-4")
    error = r.json()["error"]
    assert r.status_code == 404 and "icl-vote" in error["message"]
    assert error["code"] == "model_not_found" and error["param"] == "model" and error["type"] == "not_found_error"


def test_unparseable_chat_gets_a_helpful_reply(client):
    r = chat(client, "hi there")
    assert r.status_code == 200 and "I accept" in r.json()["choices"][0]["message"]["content"]
    assert r.json()["tttc"]["strategy"] is None


@pytest.mark.parametrize("path, body, status, code, param", [
    ("/v1/chat/completions", b"{not json", 400, "invalid_json", None),
    ("/v1/chat/completions", {"messages": []}, 400, "invalid_value", "messages"),
    ("/v1/chat/completions", {"messages": [{"role": "user"}], "stream": "maybe"}, 400, "invalid_value", "stream"),
    ("/v1/chat/completions", {"messages": [{"role": "user"}], "stream": 0}, 400, "invalid_value", "stream"),
    ("/v1/chat/completions", {"messages": [{"role": "wizard", "content": "x"}]}, 400, "invalid_value",
     "messages[0].role"),
    ("/v1/chat/completions", {"messages": [{"role": "system", "content": "x"}]}, 400, "invalid_value", "messages"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": 5}]}, 400, "invalid_value", "messages[0].content.str"),
    ("/v1/chat/completions", {"model": "icl"}, 400, "missing_required_parameter", "messages"),
    ("/v1/chat/completions", [1, 2], 400, "invalid_value", None),
    ("/v1/solve", {"task": {"train": [], "test": []}}, 400, "invalid_task", "task.train"),
    ("/v1/solve", {"task": {"train": [{"input": [[1]], "output": [[10]]}], "test": [{"input": [[1]]}]}}, 400,
     "invalid_task", "task.train[0].output"),
    ("/v1/solve", {"task": {"train": [{"input": "a", "output": "b"}], "test": [{"input": "c"}]}, "strategy": "x"}, 404,
     "model_not_found", "strategy"),
    ("/v1/solve", {"train": []}, 400, "missing_required_parameter", "task"),
    ("/v1/feedback", {"query_id": "no-such-id", "correct": True}, 404, "query_not_found", "query_id"),
    ("/v1/feedback", {"query_id": "x"}, 400, "missing_required_parameter", "correct"),
])
def test_bad_payloads_are_4xx_in_openais_error_shape(client, path, body, status, code, param):
    r = client.post(path, content=body if isinstance(body, bytes) else json.dumps(body),
                    headers={"content-type": "application/json"})
    assert r.status_code == status
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert (error["code"], error["param"]) == (code, param)


def test_task_validation_error_names_the_place(client):
    r = client.post("/v1/solve", json={"task": {"train": [{"input": [[1]], "output": [[10]]}], "test": [{"input": [[1]]}]}})
    assert r.status_code == 400 and "train[0].output" in r.json()["error"]["message"]


def test_too_large_a_body_is_413(client):
    r = client.post("/v1/chat/completions", content=b"x" * 3_000_000, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_solve_returns_the_ask_json_fields_plus_route_and_features(client):
    task = {"train": [{"input": "a", "output": "A"}, {"input": "b", "output": "B"}],
            "test": [{"input": "c", "output": "C"}], "name": "caps"}
    r = client.post("/v1/solve", json={"task": task})
    assert r.status_code == 200
    body = r.json()
    assert {"task", "strategy", "attempts", "correct", "cost", "confidence", "route", "features", "query_id"} <= set(body)
    assert body["task"] == "caps" and body["correct"] in (True, False) and "steps" not in body["cost"]
    assert body["features"]["n_demos"] == 2.0


def test_feedback_is_attached_to_the_logged_answer(client):
    qid = chat(client, TEXT_MESSAGE).json()["tttc"]["query_id"]
    r = client.post("/v1/feedback", json={"query_id": qid, "correct": False})
    assert r.status_code == 200
    assert client.app.state.agent.context.outcome_log().get(qid)["correct"] is False


def test_strategies_and_models_list_auto_and_the_library(client):
    names = [s["name"] for s in client.get("/v1/strategies").json()]
    assert names[0] == "auto" and "icl" in names
    assert [m["id"] for m in client.get("/v1/models").json()["data"]] == names


def test_health_and_openapi_docs(client):
    assert client.get("/health").json()["status"] == "ok"
    assert "/v1/chat/completions" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_full_queue_is_429_with_retry_after(tmp_path, tiny_rt):
    with TestClient(make_app(tmp_path, tiny_rt, queue_size=1)) as c:
        worker, release = c.app.state.agent.worker, threading.Event()
        worker.submit(lambda job: release.wait(30))   # runs
        while not worker.stats()["running"]:
            time.sleep(0.01)
        worker.submit(lambda job: None)               # waits in the only slot
        try:
            r = chat(c, TEXT_MESSAGE)
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
            assert r.json()["error"]["type"] == "rate_limit_error"
        finally:
            release.set()
        assert chat(c, TEXT_MESSAGE).status_code == 200   # and it recovers


def test_api_key_is_required_when_set(tmp_path, tiny_rt):
    with TestClient(make_app(tmp_path, tiny_rt, api_key="s3cret")) as c:
        assert chat(c, "hi").status_code == 401
        assert c.post("/v1/chat/completions", headers={"Authorization": "Bearer wrong"},
                      json={"messages": [{"role": "user", "content": "hi"}]}).status_code == 401
        assert c.post("/v1/chat/completions", headers={"Authorization": "Bearer s3cret"},
                      json={"messages": [{"role": "user", "content": "hi"}]}).status_code == 200
        assert c.get("/health").status_code == 200   # liveness stays open


def test_a_timeout_stops_training_and_restores_the_base_weights(tmp_path, tiny_rt):
    from strategies.registry import Spec, registry
    from strategies.ttt.adapters import param_fingerprint
    name = "tiny-ttt-endless"   # cannot finish within the timeout on any machine: only the timeout can end it
    if name not in registry().names():
        registry().add(Spec(name, "ttt", {"train": {"max_steps": 10_000, "epochs": 10_000, "eval_every": 0},
                                          "n_views": 2}, help="tests only: trains until stopped"))
    before = param_fingerprint(tiny_rt.model)
    with TestClient(make_app(tmp_path, tiny_rt, timeout_s=1.0)) as c:
        r = chat(c, grid_message(21, name), timeout_s=30)   # the server's cap wins
        assert r.status_code == 504 and "stopped" in r.json()["error"]["message"]
        assert r.json()["error"]["code"] == "timeout"
        worker = c.app.state.agent.worker
        while worker.stats()["running"]:
            time.sleep(0.05)
    assert param_fingerprint(tiny_rt.model) == before


def test_threads_survive_an_app_restart(tmp_path, tiny_rt):
    with TestClient(make_app(tmp_path, tiny_rt)) as c:
        assert chat(c, TEXT_MESSAGE, thread_id="keep").status_code == 200
    with TestClient(make_app(tmp_path, tiny_rt)) as c:   # same thread store, new app
        r = chat(c, "now solve this input: cow", thread_id="keep")
        assert r.json()["tttc"]["strategy"] == "icl"
        assert c.get("/v1/threads/keep").json()["task"]["test"][0]["input"] == "cow"


def test_a_stateless_conversation_replays_earlier_user_messages(client):
    r = client.post("/v1/chat/completions", json={"messages": [
        {"role": "user", "content": TEXT_MESSAGE}, {"role": "assistant", "content": "Answer: BIRD"},
        {"role": "user", "content": [{"type": "text", "text": "now solve this input: cow"}]}]})
    assert r.json()["tttc"]["strategy"] == "icl" and "(new query)" in r.json()["choices"][0]["message"]["content"]


# -- the official openai client against a live `tttc serve` ------------------------------------------

LONG_TTT = "ttt-long"   # 500 steps: minutes of training, unless the run is stopped

@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TTTC_API_KEY": "k"}
    (tmp / "long.yaml").write_text(f"{LONG_TTT}: {{kind: ttt, train: {{max_steps: 500, epochs: 500, eval_every: 0}}}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "controller.cli", "serve", "--model", "tiny",
                             "--port", str(port), "--threads", str(tmp / "t.sqlite"), "--db", f"sqlite:///{tmp / 'l.db'}",
                             "--strategies-file", str(tmp / "long.yaml"), "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    import httpx
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).json()["model"]:
                break
        except (httpx.HTTPError, ValueError):
            pass
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(10)


def test_openai_client_against_a_live_server(live_server):
    from openai import OpenAI
    client = OpenAI(base_url=f"{live_server}/v1", api_key="k", max_retries=0)
    out = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": TEXT_MESSAGE}],
                                         extra_body={"thread_id": "live"})
    assert "Answer" in out.choices[0].message.content and out.model_extra["tttc"]["strategy"] == "icl"
    stream = client.chat.completions.create(model="icl", stream=True, extra_body={"thread_id": "live"},
                                            messages=[{"role": "user", "content": "now solve this input: cow"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "Route: icl (chosen by the user)" in text and "(new query)" in text
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["tttc"]["query_id"]
    assert [m.id for m in client.models.list()][0] == "auto"


def test_openai_client_sees_auth_and_bad_model_errors(live_server):
    import openai
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live_server}/v1", api_key="wrong", max_retries=0).models.list()
    client = openai.OpenAI(base_url=f"{live_server}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="valid: auto") as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert e.value.code == "model_not_found"


def test_closing_a_stream_stops_training(live_server):
    import httpx
    body = {"model": LONG_TTT, "stream": True, "messages": [{"role": "user", "content": grid_message(31)}]}
    with httpx.Client(base_url=live_server, headers={"Authorization": "Bearer k"}, timeout=60) as c:
        with c.stream("POST", "/v1/chat/completions", json=body) as r:
            assert next(line for line in r.iter_lines() if "training 2/500" in line)
        deadline = time.monotonic() + 20
        while c.get("/health").json()["running"]:
            assert time.monotonic() < deadline, "training went on after the client left"
            time.sleep(0.1)
