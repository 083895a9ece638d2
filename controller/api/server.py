"""The agent API: OpenAI-compatible chat completions, /v1/solve, feedback, strategies, health (FastAPI)."""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.context import Context, add_runtime, loaded_runtime
from controller.api.errors import APIError, declared, drop_fastapi_422, error_event, install
from controller.api.schemas import (SSE, ChatCompletion, ChatRequest, Feedback, FeedbackRequest, Health, ModelList,
                                Solved, SolveRequest, StrategyInfo, ThreadView, chunk, completion, finite, turn_meta,
                                usage)
from controller.api.jobs import Busy, Job, Worker

MAX_BODY_BYTES = 2_500_000   # one task is at most 2 MB (strategies.task.MAX_FILE_BYTES), plus the JSON around it
QUEUED = (429, 500, 504)     # what a route that runs the model may answer besides its own errors


@dataclass
class Agent:
    """What the routes share: the compiled graph with its thread store, the run context, the worker."""
    graph: Any
    context: Context
    worker: Worker
    timeout_s: float

    def turn(self, thread_id: str, message: str | None, strategy: str, earlier: list[str] | None = None,
             max_tokens: int | None = None, task_input: dict[str, Any] | None = None):
        from controller.reply import cut_to_tokens
        from controller.threads import run_turn

        def fn(job: Job) -> dict[str, Any]:
            state = run_turn(self.graph, thread_id, message, self.context, strategy, earlier, on_event=job.emit,
                             task_input=task_input, should_stop=job.should_stop)
            # cut here, on the worker thread: the tokenizer is not shared across threads
            reply, cut = cut_to_tokens(state.get("reply", ""), max_tokens, self.context.get_runtime().tokenizer)
            return {**state, "reply": reply, "finish_reason": "length" if cut else "stop"}
        return fn


def create_app(model: str | None = None, db: str | None = None, threads: str | None = None,
               runtime: Any = None, features: str = "router", queue_size: int = 4, timeout_s: float = 900.0,
               max_body_bytes: int = MAX_BODY_BYTES, api_key: str | None = None, preload: bool = True,
               strategies_file: str | None = None) -> FastAPI:
    """The app. `threads`: a SQLite path or postgres URL for the thread store (see controller/threads.py);
    `db`: the outcome-log URL (no logging when neither it nor $TTTC_DB is set); `runtime`: a loaded model
    to run on (else `model` is loaded); `api_key` (default $TTTC_API_KEY): when set, every /v1 route
    needs `Authorization: Bearer <key>`, and the OpenAPI schema says so."""
    from controller.graph import compile_graph
    from controller.threads import open_checkpointer
    from strategies.registry import registry

    if strategies_file:
        registry().load_file(strategies_file, replace=True)
    if runtime is not None:
        model = add_runtime(runtime, model)
    from strategies.settings import settings
    key = api_key if api_key is not None else settings().api_key or None
    context = Context(model=model, db=db, features=features)  # type: ignore[arg-type]
    agent = Agent(compile_graph(open_checkpointer(threads)), context, Worker(queue_size), timeout_s)
    if preload and runtime is None:   # load the model now, on the worker, so the first request is not slow
        agent.worker.submit(lambda job: context.get_runtime())

    async def lifespan(app: FastAPI):
        yield
        agent.worker.close()
        conn = getattr(agent.graph.checkpointer, "conn", None)   # SqliteSaver and PostgresSaver keep one
        if conn is not None:
            conn.close()

    app = FastAPI(title="ttt-controller", version="0.1.0", lifespan=lifespan, max_body_size=max_body_bytes,
                  description="Routes each few-shot query to in-context learning or test-time training. "
                              "OpenAI-compatible: `model` is `auto` (the router) or a strategy name; errors are "
                              "`{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`.")
    app.state.agent = agent
    install(app)
    bearer = HTTPBearer(auto_error=False, description="the server's TTTC_API_KEY")

    def authorize(given: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:
        if given is None or not secrets.compare_digest(given.credentials.encode(), (key or "").encode()):
            raise APIError(401, "missing or wrong API key (send `Authorization: Bearer <TTTC_API_KEY>`)",
                           headers={"WWW-Authenticate": "Bearer"})

    v1 = [Security(authorize)] if key else []   # no key: no security scheme declared, none checked
    auth = (401,) if key else ()

    @app.post("/v1/chat/completions", dependencies=v1, summary="Chat: a task, a follow-up, or `use NAME`",
              response_model=ChatCompletion,
              responses={200: {"content": SSE}, **declared(400, *auth, 404, 413, *QUEUED)})
    async def chat_completions(body: ChatRequest, request: Request):
        _check_strategy(body.model, "model")
        message, earlier = body.user_turns()
        thread_id = body.thread_id or f"oneshot-{uuid.uuid4().hex}"
        fn = agent.turn(thread_id, message, body.model, None if body.thread_id else earlier, body.token_limit())
        job, events = _submit(agent, fn, stream=body.stream)
        timeout = min(body.timeout_s or agent.timeout_s, agent.timeout_s)
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if body.stream:
            from sse_starlette import EventSourceResponse
            with_usage = bool(body.stream_options and body.stream_options.include_usage)
            return EventSourceResponse(_stream(job, events, timeout, cid, body.model, thread_id, with_usage), ping=15)
        state = await _wait(job, request, timeout)
        return completion(cid, body.model, state, turn_meta(state, thread_id), state["reply"], state["finish_reason"])

    @app.post("/v1/solve", dependencies=v1, summary="Solve one task; the answer as `tttc ask --json` gives it",
              response_model=Solved, responses=declared(400, *auth, 404, 413, *QUEUED))
    async def solve(body: SolveRequest, request: Request):
        from strategies.base import Result
        from strategies.task import TaskError, score
        _check_strategy(body.strategy, "strategy")
        try:
            task = _task_of(body)
        except TaskError as e:
            raise APIError(400, f"task: {e}", "invalid_task", _task_param(str(e))) from None
        thread_id = body.thread_id or f"solve-{uuid.uuid4().hex}"
        # the task goes to the graph as data: the same path, features and log row as `tttc ask`
        turn = agent.turn(thread_id, None, body.strategy, task_input={**task.to_json(), "name": task.name})
        job, _ = _submit(agent, turn, stream=False)
        state = await _wait(job, request, min(body.timeout_s or agent.timeout_s, agent.timeout_s))
        result = state.get("result")
        if not result:   # the graph replied instead of answering (cannot happen for a task that validated)
            raise APIError(500, state.get("reply") or "no answer")
        r = Result.model_validate(result)
        row = {"task": task.name, "strategy": r.strategy, "attempts": r.attempts, "correct": score(task, r.prediction()),
               "cost": r.cost.model_dump(exclude={"steps"}), "confidence": round(r.confidence, 4),
               "route": state.get("reason", ""), "forced": state.get("forced", False),
               "features": (state.get("features") or {}).get("values", {}),
               "query_id": state.get("query_id"), "thread_id": thread_id}
        return finite(row)

    @app.post("/v1/feedback", dependencies=v1, summary="Record whether an answer was right",
              response_model=Feedback, responses=declared(400, *auth, 404, 409, 413))
    async def feedback(body: FeedbackRequest):
        from policies.outcomes import UnknownQuery
        outcomes = agent.context.outcome_log()
        if outcomes is None:
            raise APIError(409, "no outcome log is configured (start the server with --db URL or set TTTC_DB)",
                           "no_outcome_log")
        try:
            await asyncio.to_thread(outcomes.attach_feedback, body.query_id, body.correct)
        except UnknownQuery as e:
            raise APIError(404, str(e), "query_not_found", "query_id") from None
        return {"query_id": body.query_id, "correct": body.correct}

    @app.get("/v1/strategies", dependencies=v1, summary="The strategy library (valid `model` values, with auto)",
             response_model=list[StrategyInfo], responses=declared(*auth))
    async def strategies():
        return [{"name": "auto", "kind": "router", "help": "let the router choose per query", "typical_cost": ""}] + [
            {"name": s.name, "kind": s.kind, "help": s.help, "typical_cost": s.typical_cost}
            for s in registry().specs()]

    @app.get("/v1/models", dependencies=v1, summary="OpenAI-style model list: auto and every strategy",
             response_model=ModelList, responses=declared(*auth))
    async def models():
        names = ["auto", *registry().names()]
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "tttc"} for n in names]}

    @app.get("/v1/threads/{thread_id}", dependencies=v1, summary="What a thread holds: its task and strategy choice",
             response_model=ThreadView, responses=declared(400, *auth, 404))
    async def thread(thread_id: str = Path(max_length=200)):
        from controller.threads import thread_state
        state = await asyncio.to_thread(thread_state, agent.graph, thread_id)
        if not state:
            raise APIError(404, f"no thread {thread_id!r}", "thread_not_found", "thread_id")
        return finite({"thread_id": thread_id, "task": state.get("task"), "pinned": state.get("pinned"),
                       "last": turn_meta(state, thread_id)})

    @app.get("/health", summary="Liveness, queue and model state (no key needed)", response_model=Health)
    async def health():
        rt = loaded_runtime(agent.context.model)
        return {"status": "ok", "model": getattr(rt, "model_id", None), **agent.worker.stats()}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = drop_fastapi_422(FastAPI.openapi(app))
        return app.openapi_schema
    app.openapi = openapi   # type: ignore[method-assign]
    return app


def _check_strategy(name: str, param: str) -> None:
    from strategies.registry import registry
    names = registry().names()
    if name != "auto" and name not in names:
        raise APIError(404, f"unknown model/strategy {name!r}; valid: auto, {', '.join(names)}", "model_not_found",
                       param)


def _task_of(body: SolveRequest) -> Any:
    """The request's task: ARC-shaped, or a BIG-bench task sampled as its `demos`, `queries` and `seed` say."""
    from strategies.bigbench import Sampling, is_bigbench, task_from_bigbench
    from strategies.task import task_from_obj
    if not is_bigbench(body.task):
        return task_from_obj(body.task)
    n = len(body.task["examples"]) if isinstance(body.task.get("examples"), list) else 0
    demos = min(body.demos or 10, max(1, n - 1))
    name = str(body.task.get("name") or "task")
    return task_from_bigbench(body.task, name, Sampling(demos=demos, queries=body.queries, seed=body.seed))


def _task_param(message: str) -> str:
    """`task.train[0].output` from a TaskError's `train[0].output: ...`; `task` when it names no place."""
    place = re.match(r"((?:train|test)(?:\[\d+\])?(?:\.\w+)?|name): ", message)
    return f"task.{place.group(1)}" if place else "task"


def _submit(agent: Agent, fn, stream: bool) -> tuple[Job, asyncio.Queue | None]:
    """Queue a job (429 when full); with `stream`, its progress events and completion arrive on a queue."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue | None = asyncio.Queue() if stream else None

    def emit(event: dict[str, Any] | None) -> None:   # on the worker thread; None: the job is done
        try:
            loop.call_soon_threadsafe(events.put_nowait, event)
        except RuntimeError:   # the loop is gone (server shutting down): nobody is listening
            pass

    try:
        job = agent.worker.submit(fn, on_event=emit if stream else None)
    except Busy as e:
        raise APIError(429, str(e), headers={"Retry-After": str(e.retry_after)}) from None
    if stream:
        job.future.add_done_callback(lambda f: emit(None))
    return job, events


def _outcome(job: Job) -> dict[str, Any]:
    """The finished job's state, or the APIError its failure is (504 when stopped, 500 when it broke)."""
    from controller.graph import Cancelled
    try:
        return job.future.result()
    except Cancelled as e:
        raise APIError(504, f"the run was stopped: {e}") from None
    except Exception as e:
        raise APIError(500, f"{type(e).__name__}: {e}") from None


async def _wait(job: Job, request: Request, timeout: float) -> dict[str, Any]:
    """The job's final state; stops the job when the client goes away or the timeout passes."""
    fut = asyncio.wrap_future(job.future)
    deadline = time.monotonic() + timeout
    try:
        while not fut.done():
            await asyncio.wait({fut}, timeout=min(0.5, max(0.0, deadline - time.monotonic())))
            if fut.done():
                break
            if time.monotonic() >= deadline:
                raise APIError(504, f"no answer within {timeout:g} s; the run was stopped")
            if await request.is_disconnected():
                raise APIError(499, "client closed the request; the run was stopped")
        return _outcome(job)
    finally:
        if not fut.done():
            job.stop.set()
            fut.cancel()


async def _stream(job: Job, events: asyncio.Queue, timeout: float, cid: str, model: str, thread_id: str,
                  with_usage: bool):
    """SSE: a role chunk, progress chunks (text in `delta.reasoning_content`, the event in `tttc`),
    the reply as one content chunk, a final chunk with `finish_reason` and `tttc`, with `with_usage` a
    chunk with `usage` and no choices (every other chunk then has `"usage": null`), then [DONE]."""
    extra = {"usage": None} if with_usage else {}
    deadline = time.monotonic() + timeout
    try:
        yield json.dumps(chunk(cid, model, {"role": "assistant"}, **extra))
        while True:
            try:
                event = await asyncio.wait_for(events.get(), timeout=max(0.0, deadline - time.monotonic()))
            except (asyncio.TimeoutError, TimeoutError):
                job.stop.set()
                yield json.dumps(error_event(504, f"no answer within {timeout:g} s; the run was stopped"))
                return
            if event is None:
                break
            yield json.dumps(finite(chunk(cid, model, {"reasoning_content": event.get("text", "") + "\n"},
                                          tttc={"progress": event}, **extra)))
        try:
            state = _outcome(job)
        except APIError as e:
            yield json.dumps(error_event(e.status_code, str(e.detail)))
            return
        meta = turn_meta(state, thread_id)
        name = meta.get("strategy") or model
        yield json.dumps(chunk(cid, name, {"content": state["reply"]}, **extra))
        yield json.dumps(finite(chunk(cid, name, {}, finish=state["finish_reason"], tttc=meta, **extra)))
        if with_usage:
            yield json.dumps(chunk(cid, name, None, usage=usage(state)))
        yield "[DONE]"
    finally:
        if not job.future.done():   # the client went away mid-stream: stop the run
            job.stop.set()
