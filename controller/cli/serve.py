"""`tttc serve`: the agent API (OpenAI-compatible chat completions, /v1/solve, feedback) on uvicorn."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only; set TTTC_API_KEY "
                                                       "before binding anything wider)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", default=None, help="embedded model name, a local HF folder, or 'tiny' (random "
                                                 "2-layer model: plumbing tests only, answers are noise)")
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL, one row per answer (or set TTTC_DB; "
                                              "no logging when neither is set)")
    p.add_argument("--threads", default=None, help="thread store: a SQLite file or postgres:// URL "
                                                   "(default $TTTC_THREAD_DB, then tttc_threads.sqlite)")
    p.add_argument("--queue", type=int, default=4, help="jobs that may wait behind the running one; more get 429")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per request before its run is stopped")
    p.add_argument("--max-body-bytes", type=int, default=None, help="larger request bodies get 413")
    p.add_argument("--features", choices=["router", "all"], default="router",
                   help="'router': compute the features the router reads; 'all': every feature, so each "
                        "outcome row can train a router (adds seconds per turn)")
    p.add_argument("--strategies-file", default=None, help="YAML/JSON file of extra strategies")
    p.add_argument("--log-level", default="info")


def run(args) -> int:
    import uvicorn

    from controller.api.server import MAX_BODY_BYTES, create_app
    from strategies.settings import settings

    if args.host not in ("127.0.0.1", "localhost", "::1") and not settings().api_key:
        print(f"tttc serve: warning: listening on {args.host} with no TTTC_API_KEY: anyone who can reach it "
              "can run jobs", file=sys.stderr)
    from strategies.runtime.loaded import load_runtime
    print("loading the model ...", file=sys.stderr, flush=True)
    runtime = load_runtime(args.model)   # before listening: a bad --model fails here, in one line
    print(f"model: {runtime.model_id}", file=sys.stderr, flush=True)
    app = create_app(model=args.model, runtime=runtime, db=args.db, threads=args.threads, features=args.features,
                     queue_size=args.queue, timeout_s=args.timeout, strategies_file=args.strategies_file,
                     max_body_bytes=args.max_body_bytes or MAX_BODY_BYTES)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
