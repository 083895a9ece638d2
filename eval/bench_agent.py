"""Agent benchmark against a live `tttc serve`: ICL chat-turn latency, TTT turn vs adapter-reuse follow-up, load.

  .venv/bin/python -m eval.bench_agent --out runs/agent.json                          # full (real model)
  .venv/bin/python -m eval.bench_agent --smoke --out runs/agent-smoke.json            # plumbing, tiny model

Full: 20 ICL-routed chat turns (p50/p95), one TTT turn plus a follow-up on its thread (target >= 10x faster:
the adapter is reused), then 20 concurrent clients x 10 mixed requests (chat, streaming follow-up, /v1/solve,
a help message). Every request must be answered or refused with 429, the server must stay up, and the
outcome log must hold exactly one row per answered request.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SMOKE_TTT = "ttt-smoke"
SMOKE_STRATEGIES = f"{SMOKE_TTT}:\n  kind: ttt\n  help: bench smoke, 4 steps\n  train: {{max_steps: 4, eval_every: 0}}\n  n_views: 2\n"


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def start_server(args, tmp: Path) -> tuple[subprocess.Popen, str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = f"sqlite:///{tmp / 'outcomes.db'}"
    cmd = [sys.executable, "-m", "controller.cli", "serve", "--port", str(port), "--threads", str(tmp / "threads.sqlite"),
           "--db", db, "--queue", str(args.queue), "--log-level", "warning", "--features", args.features]
    if args.model:
        cmd += ["--model", args.model]
    if args.strategies_file:
        cmd += ["--strategies-file", args.strategies_file]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "w"))
    import httpx
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("model"):
                return proc, url, db
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("server did not load its model within 300 s")


def chat(client, content: str, thread: str | None = None, model: str = "auto", stream: bool = False) -> dict:
    """One chat request; returns {"status", "s", "meta"} (meta: the `tttc` field when answered)."""
    body = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}
    if thread:
        body["thread_id"] = thread
    t0 = time.perf_counter()
    if not stream:
        r = client.post("/v1/chat/completions", json=body)
        return {"status": r.status_code, "s": time.perf_counter() - t0, "meta": r.json().get("tttc") if r.is_success else None}
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        meta = None
        for line in r.iter_lines():
            if line.startswith("data: {"):
                data = json.loads(line[6:])
                if data.get("choices") and data["choices"][0].get("finish_reason") == "stop":
                    meta = data.get("tttc")
        return {"status": r.status_code, "s": time.perf_counter() - t0, "meta": meta}


def task_message(task) -> str:
    return "Solve this task:\n" + json.dumps({"train": task.to_json()["train"], "test": [{"input": e.input} for e in task.test]})


def _latency(times: list[float]) -> dict:
    return {"n": len(times), "p50_s": percentile(times, 0.5) if times else None,
            "p95_s": percentile(times, 0.95) if times else None, "mean_s": statistics.fmean(times) if times else None}


def icl_latency(url: str, tasks) -> dict:
    """One auto-routed turn per task, one thread each: the latency of those routed to `icl` (the issue's figure),
    of every route taken (`by_route`), and of the same tasks with `icl` chosen by the client (`forced_icl`:
    no featurizing, no router), so there is an ICL figure even when the router sends none of them to ICL."""
    import httpx
    times: dict[str, list[float]] = {}
    routes, ids, forced = {}, [], []
    with httpx.Client(base_url=url, timeout=600) as c:
        for i, task in enumerate(tasks):
            r = chat(c, task_message(task), thread=f"icl-{i}")
            strategy = (r["meta"] or {}).get("strategy")
            routes[strategy] = routes.get(strategy, 0) + 1
            ids.append((r["meta"] or {}).get("query_id"))
            if r["status"] == 200:
                times.setdefault(str(strategy), []).append(r["s"])
        for i, task in enumerate(tasks):
            r = chat(c, task_message(task), thread=f"icl-forced-{i}", model="icl")
            ids.append((r["meta"] or {}).get("query_id"))
            if r["status"] == 200:
                forced.append(r["s"])
    return {**_latency(times.get("icl", [])), "routes": routes, "query_ids": [i for i in ids if i],
            "by_route": {k: _latency(v) for k, v in sorted(times.items())}, "forced_icl": _latency(forced)}


def _one_per_family(tasks) -> list:
    """Reorder tasks so that each family's first task comes before any family's second, and so on."""
    seen: dict[str, int] = {}
    ranked = []
    for i, t in enumerate(tasks):
        fam = t.name.rsplit("-", 1)[0]
        ranked.append((seen.get(fam, 0), i, t))
        seen[fam] = seen.get(fam, 0) + 1
    return [t for _, _, t in sorted(ranked, key=lambda r: r[:2])]


def ttt_followup(url: str, task, strategy: str) -> dict:
    import httpx
    thread = f"ttt-{task.kind}"
    with httpx.Client(base_url=url, timeout=1800) as c:
        first = chat(c, task_message(task), thread=thread, model=strategy)
        # a new query on the same demonstrations: a grid as JSON, a text input as it is
        query = json.dumps(task.train[0].input) if task.kind == "grid" else task.train[0].input
        second = chat(c, f"now solve this input: {query}", thread=thread, model=strategy)
    m1, m2 = first["meta"] or {}, second["meta"] or {}
    return {"strategy": strategy, "first_s": first["s"], "followup_s": second["s"],
            "speedup": first["s"] / second["s"] if second["s"] else None,
            "first_tokens_trained": (m1.get("cost") or {}).get("tokens_trained"),
            "followup_tokens_trained": (m2.get("cost") or {}).get("tokens_trained"),
            "followup_cache_hit": m2.get("cache_hit"), "statuses": [first["status"], second["status"]],
            "query_ids": [m["query_id"] for m in (m1, m2) if m.get("query_id")]}


def load(url: str, tasks, clients: int, per_client: int) -> dict:
    """Each client sends `per_client` requests in turn: chat, streaming follow-up, solve, help, ..."""
    import httpx
    outcomes: list[dict] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=900) as c:
            for j in range(per_client):
                task = tasks[(i * per_client + j) % len(tasks)]
                kind = ("chat", "stream", "solve", "help")[j % 4]
                try:
                    if kind == "chat":
                        r = chat(c, task_message(task), thread=f"load-{i}")
                    elif kind == "stream":
                        r = chat(c, f"? {task.test[0].input}" if task.kind == "text" else task_message(task),
                                 thread=f"load-{i}", stream=True)
                    elif kind == "solve":
                        t0 = time.perf_counter()
                        resp = c.post("/v1/solve", json={"task": task.to_json()})
                        r = {"status": resp.status_code, "s": time.perf_counter() - t0,
                             "meta": resp.json() if resp.is_success else None}
                    else:
                        r = chat(c, "hello, what can you do?", thread=f"load-{i}")
                except httpx.HTTPError as e:
                    r = {"status": f"{type(e).__name__}", "s": None, "meta": None}
                with lock:
                    outcomes.append({"kind": kind, **r})

    t0 = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    answered = [o for o in outcomes if o["status"] == 200 and (o["meta"] or {}).get("query_id")]
    replied = [o for o in outcomes if o["status"] == 200 and not (o["meta"] or {}).get("query_id")]
    return {"clients": clients, "per_client": per_client, "requests": len(outcomes), "wall_s": time.perf_counter() - t0,
            "answered": len(answered), "replied_without_answer": len(replied),
            "rejected_429": sum(o["status"] == 429 for o in outcomes),
            "other": [o["status"] for o in outcomes if o["status"] not in (200, 429)],
            "query_ids": [o["meta"]["query_id"] for o in answered]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--smoke", action="store_true", help="tiny random model and small counts: checks the plumbing")
    ap.add_argument("--model", default=None, help="server --model (default: the embedded model; 'tiny' with --smoke)")
    ap.add_argument("--ttt-strategy", default="ttt", help="strategy for the TTT turn and its follow-up")
    ap.add_argument("--strategies-file", default=None)
    ap.add_argument("--icl-turns", type=int, default=20, help="auto-routed text turns of the icl phase")
    ap.add_argument("--icl-grids", type=int, default=0,
                    help="held-out grid tasks added to the icl phase, one per family in turn (the router sends "
                         "grids, where no strategy of a small model scores, to plain ICL)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--per-client", type=int, default=10)
    ap.add_argument("--queue", type=int, default=None, help="server --queue (default 4; 1 with --smoke, so 429s happen)")
    ap.add_argument("--features", choices=["router", "all"], default="router")
    ap.add_argument("--phases", default="icl,ttt,load",
                    help="which measurements to run, comma-separated: icl (chat-turn latency), ttt (a TTT turn "
                         "on a grid task and its follow-up), ttt-text (the same on a text task), load (concurrent "
                         "clients)")
    args = ap.parse_args(argv)
    if args.icl_turns < 0 or args.icl_grids < 0:
        ap.error("--icl-turns and --icl-grids count turns: 0 or more")
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    if not phases or phases - {"icl", "ttt", "ttt-text", "load"}:
        ap.error(f"--phases {args.phases!r}: choose from icl, ttt, ttt-text, load")
    tmp = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    args.queue = args.queue if args.queue is not None else (1 if args.smoke else 4)
    if args.smoke:
        args.model = args.model or "tiny"
        args.icl_turns, args.clients, args.per_client = min(args.icl_turns, 5), min(args.clients, 5), min(args.per_client, 4)
        if not args.strategies_file:
            args.strategies_file = str(tmp / "smoke.yaml")
            Path(args.strategies_file).write_text(SMOKE_STRATEGIES)
            args.ttt_strategy = SMOKE_TTT

    from eval.suites import load_suite
    tasks = load_suite("heldout", n_per_family=4)
    text = [t for t in tasks if t.kind == "text"]
    grid = [t for t in tasks if t.kind == "grid"]

    proc, url, db = start_server(args, tmp)
    out = {"command": " ".join([Path(sys.executable).name, "-m", "eval.bench_agent", *(argv or sys.argv[1:])]),
           "model": args.model or "default", "smoke": args.smoke, "cpus": os.cpu_count(), "queue": args.queue}
    try:
        if "icl" in phases:
            turns = text[:args.icl_turns] + _one_per_family(grid)[:args.icl_grids]
            out["icl_turns"] = icl_latency(url, turns)
            print("icl turns:", out["icl_turns"], file=sys.stderr)
        if "ttt" in phases:
            out["ttt_followup"] = ttt_followup(url, grid[0], args.ttt_strategy)
            print("ttt follow-up:", out["ttt_followup"], file=sys.stderr)
        if "ttt-text" in phases:   # the same on a text task, where TTT pays with this model
            out["ttt_followup_text"] = ttt_followup(url, text[0], args.ttt_strategy)
            print("ttt follow-up (text):", out["ttt_followup_text"], file=sys.stderr)
        if "load" in phases:
            out["load"] = load(url, text, args.clients, args.per_client)
            import httpx
            out["load"]["server_alive"] = proc.poll() is None and httpx.get(f"{url}/health", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    from policies.outcomes import OutcomeLog
    rows = [r["query_id"] for r in OutcomeLog(db).rows()]
    earlier = set(out.get("icl_turns", {}).pop("query_ids", []) + out.get("ttt_followup", {}).pop("query_ids", [])
                  + out.get("ttt_followup_text", {}).pop("query_ids", []))
    if "load" in out:
        load_ids = out["load"].pop("query_ids")
        out["load"]["log_rows"] = len(rows) - len(earlier)
        # exactly one row per answered request: no answer without its row, no row without its answer
        out["load"]["one_row_per_answer"] = (sorted(rows) == sorted(earlier | set(load_ids))
                                             and len(set(load_ids)) == len(load_ids))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
