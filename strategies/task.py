"""Few-shot task model: grid or text demonstrations, test inputs, predictions and exact-match scoring."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict

from .scoring import Scoring, matches

Grid = list[list[int]]
Value = Union[Grid, str]
Kind = Literal["grid", "text"]

MAX_GRID_SIDE = 30
MAX_TEXT_CHARS = 4000        # one input or output; longer would not fit the small model's context anyway
MAX_DEMOS = 32
MAX_TESTS = 256              # a BIG-bench demonstration set answers every other example of its file
MAX_FILE_BYTES = 2_000_000   # a 30x30 ARC task is ~10 kB; anything near this is not a task
MAX_ATTEMPTS = 2             # ARC's pass@2
TOP_LEVEL_KEYS = ("train", "test", "name", "scoring")   # others (`uuid`, `source`, ... from other tools) are ignored

log = logging.getLogger(__name__)


class TaskError(ValueError):
    """A task that does not validate; the message names the place, e.g. `train[2].input: ...`."""


class Example(BaseModel):
    model_config = ConfigDict(frozen=True)
    input: Value
    output: Value | None = None


class Task(BaseModel):
    """Demonstrations (`train`) and queries (`test`); test outputs are present only for scoring."""
    model_config = ConfigDict(frozen=True)
    kind: Kind
    train: tuple[Example, ...]
    test: tuple[Example, ...]
    name: str = "task"
    scoring: Scoring = "exact"   # "normalised": BIG-bench targets, matched as strategies/scoring.py says

    @property
    def has_answers(self) -> bool:
        return all(ex.output is not None for ex in self.test)

    def to_json(self) -> dict[str, Any]:
        def ex(e: Example) -> dict[str, Any]:
            d: dict[str, Any] = {"input": e.input}
            if e.output is not None:
                d["output"] = e.output
            return d
        out: dict[str, Any] = {"train": [ex(e) for e in self.train], "test": [ex(e) for e in self.test]}
        if self.scoring != "exact":
            out["scoring"] = self.scoring
        return out

    def content_hash(self) -> str:
        """Stable hash of the demonstrations and test inputs (not the name, not test outputs)."""
        import hashlib
        body = {"train": [[e.input, e.output] for e in self.train], "test": [e.input for e in self.test]}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class Prediction(BaseModel):
    """Up to MAX_ATTEMPTS answers for each test input, best first."""
    attempts: list[list[Value]]


def _check_grid(value: Any, where: str) -> Grid:
    if not isinstance(value, list):
        raise TaskError(f"{where}: expected a grid (list of rows), got {type(value).__name__}")
    if not value:
        raise TaskError(f"{where}: grid is empty")
    if len(value) > MAX_GRID_SIDE:
        raise TaskError(f"{where}: grid has {len(value)} rows, the limit is {MAX_GRID_SIDE}")
    width, rows = None, []
    for r, row in enumerate(value):
        if not isinstance(row, list):
            raise TaskError(f"{where}: row {r} is {type(row).__name__}, expected a list of ints")
        if not row:
            raise TaskError(f"{where}: row {r} is empty")
        if width is None:
            width = len(row)
            if width > MAX_GRID_SIDE:
                raise TaskError(f"{where}: grid has {width} columns, the limit is {MAX_GRID_SIDE}")
        elif len(row) != width:
            raise TaskError(f"{where}: row {r} has {len(row)} cells, row 0 has {width}")
        rows.append([_colour(cell, f"{where}: cell ({r},{c})") for c, cell in enumerate(row)])
    return rows


def _colour(cell: Any, where: str) -> int:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)   # JSON has one number type: 7.0 is the integer 7 (as JSON Schema reads it)
    if isinstance(cell, bool) or not isinstance(cell, int):
        raise TaskError(f"{where} is {cell!r}, expected an int 0..9")
    if not 0 <= cell <= 9:
        raise TaskError(f"{where} is {cell}, colours must be 0..9")
    return cell


def _check_text(value: Any, where: str) -> str:
    if len(value) > MAX_TEXT_CHARS:
        raise TaskError(f"{where}: text has {len(value)} characters, the limit is {MAX_TEXT_CHARS}")
    if not value.strip():
        raise TaskError(f"{where}: text is empty")
    return value


def _kind_of(value: Any, where: str) -> Kind:
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "grid"
    raise TaskError(f"{where}: expected a grid (list of rows) or a string, got {type(value).__name__}")


def _check_examples(raw: Any, section: str, need_output: bool, kinds: dict[str, str]) -> tuple[Example, ...]:
    if not isinstance(raw, list):
        raise TaskError(f"{section}: expected a list of examples, got {type(raw).__name__}")
    limit = MAX_DEMOS if section == "train" else MAX_TESTS
    if len(raw) > limit:
        raise TaskError(f"{section}: {len(raw)} examples, the limit is {limit}")
    out = []
    for i, ex in enumerate(raw):
        where = f"{section}[{i}]"
        if not isinstance(ex, dict):
            raise TaskError(f"{where}: expected an object with 'input' and 'output', got {type(ex).__name__}")
        unknown = set(ex) - {"input", "output"}
        if unknown:
            raise TaskError(f"{where}: unknown key(s) {sorted(unknown)}; expected 'input' and 'output'")
        if "input" not in ex:
            raise TaskError(f"{where}: missing 'input'")
        if need_output and "output" not in ex:
            raise TaskError(f"{where}: missing 'output' (demonstrations need both)")
        values = {}
        for field in ("input", "output"):
            if field not in ex or (field == "output" and ex[field] is None and not need_output):
                continue
            spot = f"{where}.{field}"
            kind = _kind_of(ex[field], spot)
            if "kind" not in kinds:
                kinds["kind"], kinds["first"] = kind, spot
            elif kinds["kind"] != kind:
                raise TaskError(f"{spot}: is {kind} but {kinds['first']} is {kinds['kind']}; a task is all grids or all text")
            values[field] = _check_grid(ex[field], spot) if kind == "grid" else _check_text(ex[field], spot)
        out.append(Example(**values))
    return tuple(out)


def task_from_obj(obj: Any, name: str = "task", source: str | None = None) -> Task:
    """Validate ARC-shaped JSON data (`{"train": [...], "test": [...]}`) into a Task. Other top-level
    keys are ignored with one warning naming them and `source` (the file; default: the task's name)."""
    if not isinstance(obj, dict):
        raise TaskError(f"expected a JSON object with 'train' and 'test', got {type(obj).__name__}")
    unknown = sorted(str(k) for k in obj if k not in TOP_LEVEL_KEYS)
    if unknown:
        log.warning("%s: ignored unknown top-level key(s) %s; a task reads 'train', 'test', 'name' and 'scoring'",
                    source or obj.get("name") or name, unknown)
    for key in ("train", "test"):
        if key not in obj:
            raise TaskError(f"missing '{key}'")
    given = obj.get("name")
    if isinstance(given, bool) or not isinstance(given, (str, int, type(None))):
        raise TaskError(f"name: expected a string, got {type(given).__name__}")
    kinds: dict[str, str] = {}
    train = _check_examples(obj["train"], "train", True, kinds)
    if not train:
        raise TaskError("train: no demonstrations; at least one is needed")
    test = _check_examples(obj["test"], "test", False, kinds)
    if not test:
        raise TaskError("test: no test inputs; at least one is needed")
    scoring = obj.get("scoring", "exact")
    if scoring not in ("exact", "normalised"):
        raise TaskError(f"scoring: {scoring!r}; expected 'exact' or 'normalised'")
    return Task(kind=kinds["kind"], train=train, test=test, name=name if given is None else str(given),
                scoring=scoring)


def task_from_json(text: str | bytes, name: str = "task", source: str | None = None) -> Task:
    if len(text) > MAX_FILE_BYTES:
        raise TaskError(f"{len(text)} bytes, the limit for one task is {MAX_FILE_BYTES}")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TaskError(f"not valid JSON: {e}") from None
    return task_from_obj(obj, name, source)


def load_task(path: str | Path, sampling: Any = None) -> Task:
    """Load one task file, ARC-shaped or a BIG-bench task (`{"examples": [...]}`, sampled into
    demonstrations and queries as `sampling`, a strategies.bigbench.Sampling, says); errors are TaskError
    with the file name in front."""
    from .bigbench import MAX_BIGBENCH_BYTES, is_bigbench, task_from_bigbench
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max(MAX_FILE_BYTES, MAX_BIGBENCH_BYTES):
            raise TaskError(f"{size} bytes, the limit for one task file is {max(MAX_FILE_BYTES, MAX_BIGBENCH_BYTES)}")
        raw = path.read_bytes()
        if is_bigbench(raw):
            return task_from_bigbench(json.loads(raw), path.stem, sampling)
        return task_from_json(raw, name=path.stem, source=str(path))
    except TaskError as e:
        raise TaskError(f"{path}: {e}") from None
    except OSError as e:
        raise TaskError(f"{path}: cannot read: {e.strerror or e}") from None


def task_paths(paths: list[str | Path]) -> list[Path]:
    """Expand folders into their *.json files (sorted); keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return out


def score_each(task: Task, prediction: Prediction) -> list[bool] | None:
    """Per test input: its answer is among its first MAX_ATTEMPTS attempts (matched as the task's
    `scoring` says). None when the task has no answers."""
    if not task.has_answers:
        return None
    attempts = list(prediction.attempts) + [[]] * max(0, len(task.test) - len(prediction.attempts))
    return [any(matches(a, ex.output, task.scoring) for a in tries[:MAX_ATTEMPTS])
            for ex, tries in zip(task.test, attempts)]


def score(task: Task, prediction: Prediction) -> bool | None:
    """Every test input has its answer among its attempts. None when there are no answers."""
    each = score_each(task, prediction)
    if each is None:
        return None
    return len(prediction.attempts) == len(task.test) and all(each)
