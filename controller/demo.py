"""The main demo (`make demo`): the agent routes and answers bundled tasks, logs each outcome, then writes a report."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from eval.bbh import DEFAULT_DATA

HERE = Path(__file__).resolve().parent
TASKS_DIR = HERE / "demo_tasks"
BBH_DIR = DEFAULT_DATA   # ../shared/data/bbh beside the repository
# In showing order: text rules plain ICL gets, grid geometry (no strategy solves it with the small model, so the
# router spends the least), two held-out rules plain ICL gets wrong and the router sends to TTT on its cheap
# features (seeds no router log holds; chosen by scanning held-out families for tasks routed to TTT on which
# `ttt-lite` is right and plain ICL wrong: a showcase, not a sample), made-up labels, and a BIG-Bench Hard task
# (when ../shared/data/bbh is there). A source is a bundled file stem, `family:NAME-SEED`
# (a held-out family's task, eval/suites/families) or `bbh:TASK` (3 queries on 10 seeded demonstrations).
TASKS: list[tuple[str, str, str]] = [   # (source, family, what we expect of plain ICL)
    ("upper", "text: string op", "easy"),
    ("flip", "grid: geometry", "hard"),
    ("family:thousands_sep-10000027", "text: held-out rule (thousands separators)", "hard"),
    ("bbh:boolean_expressions", "BIG-Bench Hard: boolean expressions", "mixed"),
    ("family:month_name-10000040", "text: held-out rule (ISO date to day, month name, year)", "hard"),
    ("made_up_labels", "text: made-up labels", "hard"),
    ("lower", "text: string op", "easy"),
]
SUITE = "demo"
TINY_TTT = {"train": {"max_steps": 2, "eval_every": 0}, "n_views": 2}   # --tiny: plumbing in seconds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m controller.demo", description=__doc__)
    p.add_argument("--tiny", action="store_true", help="the random 2-layer test model and a 2-step TTT: a smoke run "
                                                       "in seconds (answers are noise)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N tasks")
    p.add_argument("--model", default=None, help="embedded model name or local HF folder (default: the embedded default model)")
    p.add_argument("--db", default="runs/demo.db", help="SQLite file for the outcome log (emptied first)")
    p.add_argument("--report", default="runs/demo-report", metavar="DIR", help="where the report is written")
    p.add_argument("--no-baseline", dest="baseline", action="store_false",
                   help="skip plain ICL on tasks routed elsewhere (it shows, for ~2 s a task, what routing bought)")
    return p.parse_args(argv)


# -- setup --------------------------------------------------------------------------------------
def fresh_db(path: str | Path) -> str:
    """An empty SQLite outcome log at `path` (with its WAL files gone); returns its URL."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def shrink_ttt() -> None:
    """--tiny: the library's `ttt`, which the default rule routes grids to, with two training steps (this process only)."""
    from strategies.registry import Spec, registry
    reg = registry()
    ttt = reg.get("ttt")
    settings = {**ttt.settings, **TINY_TTT, "train": {**ttt.settings.get("train", {}), **TINY_TTT["train"]}}
    reg.add(Spec("ttt", ttt.kind, settings, "demo --tiny: two training steps"), replace=True)


def load_source(source: str) -> Any:
    """The task a TASKS source names; None for a BBH task when the BBH files are not beside the repository."""
    from strategies.task import load_task
    if source.startswith("family:"):
        from eval.suites.families import make_task
        name, seed = source.split(":", 1)[1].rsplit("-", 1)
        return make_task(name, int(seed))
    if source.startswith("bbh:"):
        from strategies.bigbench import Sampling
        path = BBH_DIR / f"{source.split(':', 1)[1]}.json"
        return load_task(path, Sampling(demos=10, queries=3, seed=0)) if path.is_file() else None
    return load_task(TASKS_DIR / f"{source}.json")


def load_tasks(limit: int | None) -> list[tuple[Any, str, str]]:
    chosen = TASKS[:limit] if limit is not None else TASKS
    loaded = [(load_source(src), family, expect) for src, family, expect in chosen]
    return [(task, family, expect) for task, family, expect in loaded if task is not None]


# -- showing progress ---------------------------------------------------------------------------
class Progress:
    """Prints the route as soon as it is chosen and a step counter while TTT trains: one updating line on a
    terminal, else a line at the first step and at each further quarter of the steps."""

    def __init__(self, out=sys.stdout):
        self.out, self.tty = out, out.isatty()
        self.open = False      # a terminal line being rewritten with \r
        self.quarter = -1      # the last quarter of training printed (not on a terminal)

    def __call__(self, event: dict[str, Any]) -> None:
        stage = event.get("stage")
        if stage == "training" and "step" in event:
            step, of = event["step"], event.get("of") or 0
            loss = f" (loss {event['loss']:.3g})" if isinstance(event.get("loss"), (int, float)) else ""
            text = f"  training step {step}/{of or '?'}{loss}"
            if self.tty:
                print(f"\r{text}   ", end="", file=self.out, flush=True)
                self.open = True
            elif (q := step * 4 // of if of else 0) > self.quarter:
                self.quarter = q
                print(text, file=self.out, flush=True)
            return
        self.end_line()
        if stage == "routed":
            print(f"  route: {event.get('strategy')}  ({event.get('reason', '')})", file=self.out, flush=True)
        elif stage in ("featurizing", "preparing", "answering", "voting"):
            print(f"  {stage} ...", file=self.out, flush=True)

    def end_line(self) -> None:
        if self.open:
            print(file=self.out, flush=True)
        self.open, self.quarter = False, -1


# -- the agent ----------------------------------------------------------------------------------
@dataclass
class Turn:
    strategy: str
    reason: str
    result: Any                                   # strategies.base.Result
    features: dict[str, float] = field(default_factory=dict)
    route_s: float = 0.0                          # seconds spent deciding the route (in the result's cost)
    thread: str | None = None


def solve_message(task) -> str:
    """What a user would send: the demonstrations and the test inputs, never the answers."""
    body = task.to_json()
    return "Solve this task:\n" + json.dumps({**body, "test": [{"input": t["input"]} for t in body["test"]]})


def graph_agent(model: str | None) -> Callable[[Any, Progress], Turn]:
    """One turn of the controller graph per task, on a fresh thread, as a chat user would send it."""
    from controller.context import Context
    from controller.graph import graph
    from controller.threads import run_turn
    from strategies.base import Result

    # no db: the demo logs each row itself, with its family and suite, scored against the held-back answers
    context = Context(model=model)   # features: what the router reads, as the agent does

    def turn(task, show: Progress) -> Turn:
        thread = uuid.uuid4().hex[:8]
        state = run_turn(graph, thread, solve_message(task), context, strategy="auto", on_event=show)
        if not state.get("result"):
            raise RuntimeError(f"the agent did not answer: {state.get('reply', '')[:300]}")
        f = state.get("features") or {}
        return Turn(state["choice"], state.get("reason", ""), Result.model_validate(state["result"]),
                    f.get("values") or {}, state.get("decide_s", 0.0), thread)

    return turn


# -- one task -----------------------------------------------------------------------------------
def show_answer(task, result) -> str:
    shown = [tries[0] if tries else None for tries in result.attempts]
    value = shown[0] if len(shown) == 1 else shown
    return json.dumps(value, separators=(",", ":")) if not isinstance(value, str) else value


def cost_line(cost) -> str:
    parts = [f"{cost.wall_s:.1f} s"]
    if cost.tokens_trained:
        parts.append(f"{cost.tokens_trained:,} tokens trained")
    parts.append(f"{cost.tokens_in + cost.tokens_out:,} tokens inferred")
    return ", ".join(parts)


def log_outcome(log, task, result, model_id: str, family: str, **kw: Any) -> bool | None:
    from policies.outcomes import OutcomeRow
    row = OutcomeRow.from_result(task, result, model_id, suite=SUITE, family=family, **kw)
    log.append(row)
    return row.correct


def run_task(i: int, n: int, task, family: str, expect: str, agent, runtime, log, baseline: bool,
             show: Progress) -> dict[str, Any]:
    print(f"\n[{i}/{n}] {task.name}  ({family}; plain ICL should find it {expect})", flush=True)
    turn = agent(task, show)
    show.end_line()
    right = log_outcome(log, task, turn.result, runtime.model_id, family, features=turn.features,
                        route_reason=turn.reason or None, thread_id=turn.thread)
    mark = {True: "correct", False: "wrong", None: "unscored"}[right]
    if len(task.test) > 1 and right is not None:
        from strategies.task import score_each
        mark = f"{sum(score_each(task, turn.result.prediction()))}/{len(task.test)} queries right"
    print(f"  answer: {show_answer(task, turn.result)}  -> {mark}"
          + ("" if right else f" (expected {show_answer(task, _expected(task))})"), flush=True)
    print(f"  cost: {cost_line(turn.result.cost)}, of which deciding the route: {turn.result.cost.decide_s:.1f} s",
          flush=True)
    out = {"task": task.name, "strategy": turn.strategy, "correct": right, "seconds": turn.result.cost.wall_s}
    if baseline and turn.strategy != "icl":
        from strategies.registry import get_strategy
        icl = get_strategy("icl").run(task, runtime)
        icl_right = log_outcome(log, task, icl, runtime.model_id, family)
        print(f"  baseline, plain icl (logged, not routed): {show_answer(task, icl)} -> "
              f"{'correct' if icl_right else 'wrong'} in {icl.cost.wall_s:.1f} s", flush=True)
    return out


def _expected(task):
    from strategies.base import Result
    return Result(strategy="expected", attempts=[[ex.output] for ex in task.test])


# -- main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    from controller import console
    console.setup("tttc demo")   # library warnings to the debug log, not between the demo's lines
    from controller.context import load_runtime
    from policies.outcomes import OutcomeLog
    from strategies.runtime.loaded import TINY

    if args.tiny:
        shrink_ttt()
    tasks = load_tasks(args.limit)
    url = fresh_db(args.db)
    model = TINY if args.tiny else args.model
    print(f"loading the model{' (tiny: random weights, answers are noise)' if args.tiny else ''} ...", flush=True)
    runtime = load_runtime(model)
    agent = graph_agent(model)
    print(f"model: {runtime.model_id}; agent: the controller graph; {len(tasks)} tasks; outcomes -> {args.db}",
          flush=True)
    show = Progress()
    done = []
    with OutcomeLog(url) as log:
        for i, (task, family, expect) in enumerate(tasks, 1):
            done.append(run_task(i, len(tasks), task, family, expect, agent, runtime, log, args.baseline, show))
    right = sum(bool(d["correct"]) for d in done)
    print(f"\n{right}/{len(done)} correct; routes: "
          + ", ".join(f"{d['task']}->{d['strategy']}" for d in done), flush=True)

    from eval.report.build import build_report
    command = shlex.join(["python", "-m", "controller.demo", *(sys.argv[1:] if argv is None else argv)])
    written = build_report(url, args.report, command=command)
    print("\n" + "\n".join(line.replace("**", "").replace("`", "") for line in written.headline))
    print(f"\nreport: {written.html}  (and {written.markdown.name}, "
          f"{', '.join(p.name for p in written.figures) or 'no figures'})")
    print(f"outcome log: {args.db}; rebuild the report with: tttc report --db {url} --out {args.report}")
    print(f"demo took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
