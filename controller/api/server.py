"""The agent API: OpenAI-compatible chat completions, /v1/solve, feedback, strategies, health (FastAPI)."""
from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.context import Context
from controller.api.schemas import ChatRequest, FeedbackRequest, SolveRequest, chunk, completion, finite, turn_meta
from controller.api.jobs import Busy, Job, Worker

MAX_BODY_BYTES = 2_500_000   # one task is at most 2 MB (strategies.task.MAX_FILE_BYTES), plus the JSON around it


@dataclass
class Agent:
    """What the routes share: the compiled graph with its thread store, the run context, the worker."""
    graph: Any
    context: Context
    worker: Worker
    timeout_s: float

    def turn(self, thread_id: str, message: str | None, strategy: str, earlier: list[str] | None = None,
             task_input: dict[str, Any] | None = None):
        from controller.threads import run_turn

        def fn(job: Job) -> dict[str, Any]:
            ctx = replace(self.context, should_stop=job.should_stop)
            return run_turn(self.graph, thread_id, message, ctx, strategy, earlier, on_event=job.emit,
                            task_input=task_input)
        return fn


def create_app(model: str | None = None, db: str | None = None, threads: str | None = None,
               runtime: Any = None, features: str = "router", queue_size: int = 4, timeout_s: float = 900.0,
               max_body_bytes: int = MAX_BODY_BYTES, api_key: str | None = None, preload: bool = True,
               strategies_file: str | None = None) -> FastAPI:
    """The app. `threads`: a SQLite path or postgres URL for the thread store (see controller/threads.py);
    `db`: the outcome-log URL (no logging when neither it nor $TTTC_DB is set); `api_key` (default
    $TTTC_API_KEY): when set, every /v1 route needs `Authorization: Bearer <key>`."""
    from controller.graph import compile_graph
    from controller.threads import open_checkpointer
    from strategies.registry import registry

    if strategies_file:
        registry().load_file(strategies_file, replace=True)
    from strategies.settings import settings
    key = api_key if api_key is not None else settings().api_key or None
    context = Context(model=model, runtime=runtime, db=db, features=features)  # type: ignore[arg-type]
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
                              "OpenAI-compatible: `model` is `auto` (the router) or a strategy name.")
    app.state.agent = agent

    def authorize(request: Request) -> None:
        if key is None:
            return
        given = request.headers.get("authorization", "")
        if not (given.startswith("Bearer ") and secrets.compare_digest(given[7:].encode(), key.encode())):
            raise HTTPException(401, "missing or wrong API key (send `Authorization: Bearer <TTTC_API_KEY>`)",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors(), custom_encoder={Exception: str})
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(422, f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid"),
                      extra={"errors": errors})

    v1 = [Depends(authorize)]

    @app.post("/v1/chat/completions", dependencies=v1, summary="Chat: a task, a follow-up, or `use NAME`")
    async def chat_completions(body: ChatRequest, request: Request):
        _check_strategy(body.model)
        message, earlier = body.user_turns()
        if message is None:
            raise HTTPException(400, "messages: no message with role 'user'")
        thread_id = body.thread_id or f"oneshot-{uuid.uuid4().hex}"
        job, events = _submit(agent, agent.turn(thread_id, message, body.model, None if body.thread_id else earlier),
                              stream=body.stream)
        timeout = min(body.timeout_s or agent.timeout_s, agent.timeout_s)
        cid, model = f"chatcmpl-{uuid.uuid4().hex[:24]}", body.model
        if body.stream:
            from sse_starlette import EventSourceResponse
            return EventSourceResponse(_stream(job, events, timeout, cid, model, thread_id), ping=15)
        state = await _wait(job, request, timeout)
        return completion(cid, model, state, turn_meta(state, thread_id))

    @app.post("/v1/solve", dependencies=v1, summary="Solve one task; the answer as `tttc ask --json` gives it")
    async def solve(body: SolveRequest, request: Request):
        from strategies.task import TaskError, score, task_from_obj
        _check_strategy(body.strategy)
        try:
            task = task_from_obj(body.task, name=str(body.task.get("name", "task")))
        except TaskError as e:
            raise HTTPException(422, str(e)) from None
        thread_id = body.thread_id or f"solve-{uuid.uuid4().hex}"
        turn = agent.turn(thread_id, None, body.strategy, task_input={**body.task, "name": task.name})
        job, _ = _submit(agent, turn, stream=False)
        state = await _wait(job, request, min(body.timeout_s or agent.timeout_s, agent.timeout_s))
        result = state.get("result")
        if not result:   # the graph replied instead of answering (cannot happen for a task that validated)
            raise HTTPException(422, state.get("reply") or "no answer")
        from strategies.base import Result
        r = Result.model_validate(result)
        row = {"task": task.name, "strategy": r.strategy, "attempts": r.attempts, "correct": score(task, r.prediction()),
               "cost": r.cost.model_dump(exclude={"steps"}), "confidence": round(r.confidence, 4),
               "route": state.get("reason", ""), "forced": state.get("forced", False),
               "features": (state.get("features") or {}).get("values", {}),
               "query_id": state.get("query_id"), "thread_id": thread_id}
        return finite(row)

    @app.post("/v1/feedback", dependencies=v1, summary="Record whether an answer was right")
    async def feedback(body: FeedbackRequest):
        from policies.outcomes import UnknownQuery
        outcomes = agent.context.outcome_log()
        if outcomes is None:
            raise HTTPException(409, "no outcome log is configured (start the server with --db URL or set TTTC_DB)")
        try:
            await asyncio.to_thread(outcomes.attach_feedback, body.query_id, body.correct)
        except UnknownQuery as e:
            raise HTTPException(404, str(e)) from None
        return {"query_id": body.query_id, "correct": body.correct}

    @app.get("/v1/strategies", dependencies=v1, summary="The strategy library (valid `model` values, with auto)")
    async def strategies():
        return [{"name": "auto", "kind": "router", "help": "let the router choose per query", "typical_cost": ""}] + [
            {"name": s.name, "kind": s.kind, "help": s.help, "typical_cost": s.typical_cost}
            for s in registry().specs()]

    @app.get("/v1/models", dependencies=v1, summary="OpenAI-style model list: auto and every strategy")
    async def models():
        names = ["auto", *registry().names()]
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "tttc"} for n in names]}

    @app.get("/v1/threads/{thread_id}", dependencies=v1, summary="What a thread holds: its task and strategy choice")
    async def thread(thread_id: str):
        from controller.threads import thread_state
        state = await asyncio.to_thread(thread_state, agent.graph, thread_id)
        if not state:
            raise HTTPException(404, f"no thread {thread_id!r}")
        return finite({"thread_id": thread_id, "task": state.get("task"), "pinned": state.get("pinned"),
                       "last": turn_meta(state, thread_id)})

    @app.get("/health", summary="Liveness, queue and model state (no key needed)")
    async def health():
        rt = agent.context.runtime
        return {"status": "ok", "model": getattr(rt, "model_id", None), **agent.worker.stats()}

    return app


def _error(status: int, message: str, headers: dict | None = None, extra: dict | None = None) -> JSONResponse:
    kind = {401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error")
    return JSONResponse({"error": {"message": message, "type": kind, "code": status, **(extra or {})}},
                        status_code=status, headers=headers)


def _check_strategy(name: str) -> None:
    from strategies.registry import registry
    names = registry().names()
    if name != "auto" and name not in names:
        raise HTTPException(400, f"unknown model/strategy {name!r}; valid: auto, {', '.join(names)}")


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
        raise HTTPException(429, str(e), headers={"Retry-After": str(e.retry_after)}) from None
    if stream:
        job.future.add_done_callback(lambda f: emit(None))
    return job, events


async def _wait(job: Job, request: Request, timeout: float) -> dict[str, Any]:
    """The job's final state; stops the job when the client goes away or the timeout passes."""
    from controller.graph import Cancelled
    fut = asyncio.wrap_future(job.future)
    deadline = time.monotonic() + timeout
    try:
        while not fut.done():
            await asyncio.wait({fut}, timeout=min(0.5, max(0.0, deadline - time.monotonic())))
            if fut.done():
                break
            if time.monotonic() >= deadline:
                raise HTTPException(504, f"no answer within {timeout:g} s; the run was stopped")
            if await request.is_disconnected():
                raise HTTPException(499, "client closed the request; the run was stopped")
        try:
            return fut.result()
        except Cancelled as e:
            raise HTTPException(504, f"the run was stopped: {e}") from None
        except Exception as e:
            raise HTTPException(500, f"{type(e).__name__}: {e}") from None
    finally:
        if not fut.done():
            job.stop.set()
            fut.cancel()


async def _stream(job: Job, events: asyncio.Queue, timeout: float, cid: str, model: str, thread_id: str):
    """SSE: a role chunk, progress chunks (text in `delta.reasoning_content`, the event in `tttc`),
    the reply as one content chunk, a final chunk with `finish_reason` and `tttc`, then [DONE]."""
    from controller.graph import Cancelled
    deadline = time.monotonic() + timeout
    try:
        yield json.dumps(chunk(cid, model, {"role": "assistant"}))
        while True:
            try:
                event = await asyncio.wait_for(events.get(), timeout=max(0.0, deadline - time.monotonic()))
            except (asyncio.TimeoutError, TimeoutError):
                job.stop.set()
                yield json.dumps(_stream_error(504, f"no answer within {timeout:g} s; the run was stopped"))
                return
            if event is None:
                break
            yield json.dumps(finite(chunk(cid, model, {"reasoning_content": event.get("text", "") + "\n"},
                                          tttc={"progress": event})))
        try:
            state = job.future.result()
        except Cancelled as e:
            yield json.dumps(_stream_error(504, f"the run was stopped: {e}"))
            return
        except Exception as e:
            yield json.dumps(_stream_error(500, f"{type(e).__name__}: {e}"))
            return
        meta = turn_meta(state, thread_id)
        yield json.dumps(chunk(cid, meta.get("strategy") or model, {"content": state.get("reply", "")}))
        yield json.dumps(finite(chunk(cid, meta.get("strategy") or model, {}, finish="stop", tttc=meta)))
        yield "[DONE]"
    finally:
        if not job.future.done():   # the client went away mid-stream: stop the run
            job.stop.set()


def _stream_error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "code": status}}
