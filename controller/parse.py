"""Chat parsing: a message becomes a new task, a follow-up on the thread's task, a strategy choice, or help."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from strategies.task import Task, TaskError, Value, task_from_obj

FORMATS = """\
I accept:
- an ARC-format JSON task anywhere in the message: {"train": [{"input": ..., "output": ...}, ...], "test": [{"input": ...}]}
- text demonstrations, one per line as `input -> output`, then one `? input` line per query, e.g.
    cat -> CAT
    dog -> DOG
    ? bird
  (a side written as a JSON grid such as [[0,1],[1,0]] makes a grid task)
Follow-ups on the task of this conversation:
- `now solve this input: <input>` (a JSON grid for grid tasks), or more `? input` lines
- `add this example: <input> -> <output>` (one or more `->` lines)
- `use <strategy>` (for example `use ttt-max`, or `use auto` for the router)"""

ARROW = re.compile(r"\s*(?:->|→)\s*")
USE = re.compile(r"^\s*(?:please\s+)?use\s+(?:the\s+)?(?:strategy\s+)?([A-Za-z0-9_.-]+)(?:\s+strategy)?\s*[.!]?\s*$",
                 re.IGNORECASE | re.MULTILINE)
ADD = re.compile(r"^\s*add\s+(?:(?:this|these|an?|another|one|more|new)\s+)*"
                 r"(?:examples?|demos?|demonstrations?|pairs?)\s*:?\s*(.*)$", re.IGNORECASE | re.DOTALL)
SOLVE = re.compile(r"^\s*(?:(?:now|and|then|ok|okay)[\s,]+)*(?:solve|answer|predict|try)\b[^:\n]{0,40}:\s*(.*)$",
                   re.IGNORECASE | re.DOTALL)
HELP = re.compile(r"^\s*(?:/?help|\?|what can you do\??)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    """What one message asks for: `solve` the task (new or changed), or just `reply` with text."""
    action: Literal["solve", "reply"]
    task: Task | None = None         # the thread's task after this message (solve: the one to run)
    strategy: str | None = None      # a `use NAME` choice for the rest of the thread
    note: str = ""                   # what this message changed, for the reply
    reply: str = ""                  # for action "reply": what to say


def parse_message(message: str, task: Task | None, strategies: Sequence[str]) -> Parsed:
    """Read one chat message against the thread's current task (None at the start of a thread)."""
    text = message.strip()
    if not text or HELP.match(text):
        return Parsed("reply", task, reply=FORMATS)
    strategy = None
    uses = USE.findall(text)
    if uses:
        strategy = uses[-1].lower()
        if strategy not in (*strategies, "auto"):
            return Parsed("reply", task, reply=f"I don't know the strategy {strategy!r}. "
                                               f"Choose one of: auto, {', '.join(strategies)}.")
        text = USE.sub("", text).strip()
    try:
        parsed = _read(text, task)
    except TaskError as e:
        return Parsed("reply", task, strategy, reply=f"That task does not validate: {e}\n\n{FORMATS}")
    if parsed is not None:
        new_task, note = parsed
        return Parsed("solve", new_task, strategy, note)
    if strategy is not None:
        if task is not None:   # a bare `use NAME` re-solves the thread's task with it
            return Parsed("solve", task, strategy, f"solving again with {strategy}")
        return Parsed("reply", None, strategy, reply=f"OK, I will use {strategy} in this conversation. "
                                                     f"Now send a task.\n\n{FORMATS}")
    return Parsed("reply", task, reply=f"I could not find a task in that message.\n\n{FORMATS}")


def parse_task(obj: Any, task: Task | None) -> Parsed:
    """A task handed over as data (`tttc ask`, /v1/solve): solve it, or reply why it does not validate
    (the thread's task, `task`, stays)."""
    try:
        new = task_from_obj(obj, name=str(obj.get("name", "task")) if isinstance(obj, dict) else "task")
    except TaskError as e:
        return Parsed("reply", task, reply=f"That task does not validate: {e}")
    return Parsed("solve", new, note=f"new {new.kind} task: {_size(new)}")


def replay(messages: Sequence[str], strategies: Sequence[str]) -> Task | None:
    """The task that a sequence of earlier user messages built (for a client that resends its history)."""
    task = None
    for m in messages:
        task = parse_message(m, task, strategies).task
    return task


def _read(text: str, task: Task | None) -> tuple[Task, str] | None:
    """(task, note) when the text defines or changes a task; None when it holds nothing task-like."""
    if not text:
        return None
    obj = _json_task(text)
    if obj is not None:
        new = task_from_obj(obj, name=str(obj.get("name", "chat")))
        return new, f"new {new.kind} task: {_size(new)}"
    m = ADD.match(text)
    if m:
        if task is None:
            raise TaskError("there is no task in this conversation yet to add examples to")
        demos, queries = _lines(m.group(1))
        if not demos or queries:
            raise TaskError("`add this example:` needs one or more `input -> output` lines and nothing else")
        return _add(task, demos), f"added {_count(len(demos), 'example')}"
    m = SOLVE.match(text)
    if m and _lines(m.group(1)) == ([], []):   # `solve these: a -> b ...` is a task, read below
        if task is None:
            raise TaskError("there is no task in this conversation yet; send demonstrations first")
        return _with_tests(task, [_value(m.group(1).strip(), task.kind)]), "new query"
    demos, queries = _lines(text)
    if not demos and not queries:
        return None
    if demos and queries:
        new = _build([(i, o) for i, o in demos], queries, task.name if task else "chat")
        return new, f"new {new.kind} task: {_size(new)}"
    if task is None:
        if demos:
            raise TaskError(f"I see {_count(len(demos), 'example')} but no query; add a line `? input`")
        raise TaskError("there is no task in this conversation yet; send `input -> output` lines first")
    if demos:
        return _add(task, demos), f"added {_count(len(demos), 'example')}"
    return _with_tests(task, queries), f"new {'queries' if len(queries) > 1 else 'query'}"


def _json_task(text: str) -> dict[str, Any] | None:
    """The first JSON object in the text that has a `train` or `test` key (code fences and prose around it are fine)."""
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and ({"train", "test"} & set(obj)):
            return obj
    if text.lstrip().startswith("{"):
        try:
            json.loads(text)
        except json.JSONDecodeError as e:
            raise TaskError(f"not valid JSON: {e}") from None
    return None


def _lines(text: str) -> tuple[list[tuple[Value, Value]], list[Value]]:
    """`input -> output` lines and `? input` lines; other lines (prose, blank) are ignored."""
    demos, queries = [], []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("?"):
            if line[1:].strip():
                queries.append(_side(line[1:].strip()))
        elif ARROW.search(line):
            left, right = ARROW.split(line, maxsplit=1)
            if left.strip() and right.strip():
                demos.append((_side(left.strip()), _side(right.strip())))
    return demos, queries


def _side(text: str) -> Value:
    """A JSON grid when it parses as a list; otherwise the text itself."""
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(value, list):
            return value
    return text


def _value(text: str, kind: str) -> Value:
    if kind == "grid":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise TaskError(f"test[0].input: a grid task needs a JSON grid such as [[0,1],[1,0]], got {text[:40]!r}") from None
    return text


def _build(demos: Sequence[tuple[Value, Value]], queries: Sequence[Value], name: str) -> Task:
    return task_from_obj({"train": [{"input": i, "output": o} for i, o in demos],
                          "test": [{"input": q} for q in queries]}, name=name)


def _add(task: Task, demos: Sequence[tuple[Value, Value]]) -> Task:
    old = [(e.input, e.output) for e in task.train]
    return _build(old + list(demos), [e.input for e in task.test], task.name)


def _with_tests(task: Task, queries: Sequence[Value]) -> Task:
    return _build([(e.input, e.output) for e in task.train], queries, task.name)


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _size(task: Task) -> str:
    return f"{_count(len(task.train), 'example')}, {_count(len(task.test), 'query', 'queries')}"
