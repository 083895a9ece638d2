"""OpenAI's protocol where clients notice, through the official `openai` client: finish_reason, the
usage chunk, error bodies with string codes, 404 for an unknown model."""
from __future__ import annotations

import httpx
import openai
import pytest
from agentkit import TEXT_MESSAGE
from fastapi.testclient import TestClient

from controller.api.server import create_app

pytestmark = pytest.mark.usefixtures("one_thread")
USER = [{"role": "user", "content": TEXT_MESSAGE}]


@pytest.fixture(scope="module")
def http(tmp_path_factory, tiny_rt):
    tmp = tmp_path_factory.mktemp("openai")
    app = create_app(runtime=tiny_rt, threads=str(tmp / "threads.sqlite"), db=f"sqlite:///{tmp / 'log.db'}",
                     api_key="k")
    with TestClient(app) as c:
        yield c


class InProcess(httpx.BaseTransport):
    """An httpx transport that hands each request to the app through Starlette's test client. Every
    `openai` release takes an `httpx.Client` as its `http_client` (only recent ones take Starlette's
    client itself, which is built on httpx2), so this tests the protocol with the oldest client allowed."""

    def __init__(self, app_client: TestClient):
        self.app_client = app_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r = self.app_client.request(request.method, str(request.url), headers=dict(request.headers),
                                    content=request.read())
        headers = [(k, v) for k, v in r.headers.multi_items() if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(r.status_code, headers=headers, content=r.content, request=request)


def official_client(http: TestClient, api_key: str = "k") -> openai.OpenAI:
    return openai.OpenAI(base_url="http://testserver/v1", api_key=api_key, max_retries=0,
                         http_client=httpx.Client(transport=InProcess(http), base_url="http://testserver"))


@pytest.fixture(scope="module")
def client(http):
    return official_client(http)


def test_a_whole_reply_finishes_with_stop_and_reports_usage(client):
    out = client.chat.completions.create(model="icl", messages=USER)
    assert out.choices[0].finish_reason == "stop" and "Answer" in out.choices[0].message.content
    assert out.usage.prompt_tokens > 0 and out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens


def test_max_tokens_cuts_the_reply_and_finishes_with_length(client, tiny_rt):
    whole = client.chat.completions.create(model="icl", messages=USER, extra_body={"thread_id": "cut"})
    cut = client.chat.completions.create(model="icl", messages=USER, max_tokens=3)
    text = cut.choices[0].message.content
    assert cut.choices[0].finish_reason == "length"
    assert whole.choices[0].message.content.startswith(text) and len(text) < len(whole.choices[0].message.content)
    assert len(tiny_rt.tokenizer(text, add_special_tokens=False)["input_ids"]) <= 3


def test_max_completion_tokens_cuts_as_well(client):
    # in the body as every client sends it (the keyword argument came in openai 1.45)
    cut = client.chat.completions.create(model="icl", messages=USER, extra_body={"max_completion_tokens": 2})
    assert cut.choices[0].finish_reason == "length"


def test_a_limit_the_reply_fits_in_finishes_with_stop(client):
    out = client.chat.completions.create(model="icl", messages=USER, max_tokens=100_000)
    assert out.choices[0].finish_reason == "stop"


def test_streaming_with_include_usage_ends_with_a_usage_chunk_and_no_choices(client):
    chunks = list(client.chat.completions.create(model="icl", messages=USER, stream=True,
                                                 stream_options={"include_usage": True}))
    *body, last = chunks
    assert last.choices == [] and last.usage.prompt_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in body)
    assert body[-1].choices[0].finish_reason == "stop"
    assert "Route: icl" in "".join(c.choices[0].delta.content or "" for c in body)


def test_streaming_without_include_usage_sends_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="icl", messages=USER, stream=True))
    assert all(c.choices for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"


def test_a_streamed_reply_cut_by_max_tokens_finishes_with_length(client):
    chunks = list(client.chat.completions.create(model="icl", messages=USER, stream=True, max_tokens=3,
                                                 stream_options={"include_usage": True}))
    assert chunks[-2].choices[0].finish_reason == "length" and chunks[-1].usage is not None


def test_an_unknown_model_is_not_found_with_code_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=USER)
    assert (e.value.code, e.value.param, e.value.type) == ("model_not_found", "model", "not_found_error")
    assert "valid: auto" in e.value.message


def test_an_unknown_model_streams_nothing_and_is_not_found(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)


@pytest.mark.parametrize("kwargs, code, param", [
    ({"messages": [{"role": "wizard", "content": "x"}]}, "invalid_value", "messages[0].role"),
    ({"messages": [{"role": "system", "content": "be brief"}]}, "invalid_value", "messages"),
    ({"messages": USER, "max_tokens": 0}, "invalid_value", "max_tokens"),
    ({"messages": USER, "extra_body": {"timeout_s": "soon"}}, "invalid_value", "timeout_s"),
])
def test_bad_input_is_a_bad_request_with_a_string_code_and_the_param(client, kwargs, code, param):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="icl", **kwargs)
    assert (e.value.code, e.value.param, e.value.type) == (code, param, "invalid_request_error")


def test_a_wrong_key_is_an_authentication_error_with_a_string_code(http):
    wrong = official_client(http, api_key="nope")
    with pytest.raises(openai.AuthenticationError) as e:
        wrong.models.list()
    assert e.value.code == "invalid_api_key" and e.value.type == "authentication_error"


def test_every_error_body_has_exactly_openais_four_fields(http):
    r = http.post("/v1/feedback", json={"query_id": "nope", "correct": True}, headers={"Authorization": "Bearer k"})
    assert r.status_code == 404
    assert r.json() == {"error": {"message": r.json()["error"]["message"], "type": "not_found_error",
                                  "param": "query_id", "code": "query_not_found"}}


def test_models_lists_auto_and_the_strategies(client):
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "auto" and "icl" in ids
