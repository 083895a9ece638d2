"""`tttc chat`: a REPL on one thread; shows each routing decision, and a progress bar while TTT trains."""
from __future__ import annotations

import sys
import uuid

COMMANDS_HELP = """\
Commands: /help  /task (show this thread's task)  /thread [ID] (switch or show)  /new (fresh thread)  /quit
A message is sent when it is complete: a line without `->`, a `? input` line, balanced JSON, or an empty line.
Ctrl-C while a run is going stops it (training ends, the base weights are restored)."""


def add_arguments(p) -> None:
    p.add_argument("--thread", default=None, help="thread id to open or resume (default: a new one)")
    p.add_argument("--strategy", default="auto", help="'auto' (the router) or a strategy name for every turn; "
                                                      "in chat, `use NAME` sets it for the thread")
    p.add_argument("--model", default=None, help="embedded model name, a local HF folder, or 'tiny'")
    p.add_argument("--db", default=None, help="outcome-log SQLAlchemy URL (or set TTTC_DB)")
    p.add_argument("--threads", default=None, help="thread store: SQLite file or postgres:// URL "
                                                   "(default $TTTC_THREAD_DB, then tttc_threads.sqlite)")
    p.add_argument("--features", choices=["router", "all"], default="router",
                   help="'router': compute the features the router reads; 'all': every feature, so each "
                        "outcome row can train a router (adds seconds per turn)")


def complete(lines: list[str]) -> bool:
    """Whether the lines typed so far make a message to send (see COMMANDS_HELP)."""
    if not lines:
        return False
    if not lines[-1].strip():
        return any(line.strip() for line in lines)
    text = "\n".join(lines)
    if text.count("{") > text.count("}") or text.count("[") > text.count("]"):
        return False
    return "->" not in lines[-1] and "→" not in lines[-1]


class Display:
    """Prints progress events: stage lines, the route, and a tqdm bar for training steps."""

    def __init__(self, out=sys.stderr):
        self.out, self.bar = out, None

    def __call__(self, event: dict) -> None:
        if event.get("stage") == "training" and "step" in event:
            if self.bar is None:
                from tqdm import tqdm
                self.bar = tqdm(total=event.get("of"), desc="training", unit="step", file=self.out, leave=False)
            self.bar.n = event["step"]
            if isinstance(event.get("loss"), (int, float)):
                self.bar.set_postfix(loss=f"{event['loss']:.3g}", refresh=False)
            self.bar.refresh()
            return
        self.close()
        print(f"  [{event.get('text', event.get('stage'))}]", file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def read_message(first_prompt: str = "you> ") -> str | None:
    """One message from stdin (several lines when it is not complete yet); None at end of input."""
    lines: list[str] = []
    while not complete(lines):
        try:
            lines.append(input(first_prompt if not lines else "...> "))
        except EOFError:
            return "\n".join(lines) if any(line.strip() for line in lines) else None
    return "\n".join(lines).strip()


def run(args) -> int:
    import threading

    from controller.context import Context
    from controller.graph import Cancelled, compile_graph
    from controller.threads import open_checkpointer, run_turn, thread_state
    from strategies.registry import registry

    if args.strategy != "auto":
        registry().get(args.strategy)   # fail before loading the model
    graph = compile_graph(open_checkpointer(args.threads))
    context = Context(model=args.model, db=args.db, features=args.features)
    print("loading the model ...", file=sys.stderr, flush=True)
    print(f"model: {context.get_runtime().model_id}", file=sys.stderr)
    thread = args.thread or uuid.uuid4().hex[:8]
    print(f"thread {thread} (resume it with `tttc chat --thread {thread}`); /help for commands", file=sys.stderr)

    while True:
        message = read_message()
        if message is None or message in ("/quit", "/exit"):
            return 0
        if message.startswith("/"):
            thread = _command(message, thread, graph, thread_state)
            continue
        display, stop, box = Display(), threading.Event(), {}

        def turn() -> None:
            try:
                box["state"] = run_turn(graph, thread, message, context, args.strategy, on_event=display,
                                        should_stop=stop.is_set)
            except BaseException as e:   # reported on the main thread
                box["error"] = e

        worker = threading.Thread(target=turn, daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            print("\n  [stopping ...]", file=sys.stderr, flush=True)
            stop.set()
            worker.join()
        display.close()
        error = box.get("error")
        if isinstance(error, Cancelled):
            print("stopped; the base weights are restored.", file=sys.stderr)
        elif error is not None:
            print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        else:
            state = box["state"]
            print(state.get("reply", ""))
            if state.get("query_id"):
                print(f"  [query id {state['query_id']}]", file=sys.stderr)


def _command(line: str, thread: str, graph, thread_state) -> str:
    name, _, arg = line.partition(" ")
    if name == "/new":
        thread = uuid.uuid4().hex[:8]
        print(f"thread {thread}", file=sys.stderr)
    elif name == "/thread":
        thread = arg.strip() or thread
        print(f"thread {thread}", file=sys.stderr)
    elif name == "/task":
        import json
        state = thread_state(graph, thread)
        if state.get("task"):
            from strategies.task import Task
            task = Task.model_validate(state["task"]).to_json()
            print("\n".join(f"{part}: {json.dumps(ex)}" for part in ("train", "test") for ex in task[part]))
        else:
            print("no task in this thread yet")
        if state.get("pinned"):
            print(f"strategy: {state['pinned']}")
    else:
        from controller.parse import FORMATS
        print(f"{COMMANDS_HELP}\n\n{FORMATS}")
    return thread
