"""The outcome log: one row per (task, strategy) run, with feedback attached later, and what each feature
cost per task; one SQLAlchemy schema, any SQLAlchemy URL (SQLite by default)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from strategies.cost import Cost
from strategies.settings import settings


class Base(DeclarativeBase):
    pass


class Outcome(Base):
    __tablename__ = "outcomes"
    query_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_hash: Mapped[str] = mapped_column(String(64), index=True)
    task_name: Mapped[str] = mapped_column(String(256))
    suite: Mapped[str | None] = mapped_column(String(128), index=True)    # evaluation bookkeeping only,
    family: Mapped[str | None] = mapped_column(String(128))               # never a feature
    features: Mapped[dict] = mapped_column(JSON)
    strategy: Mapped[str] = mapped_column(String(128), index=True)
    attempts: Mapped[list] = mapped_column(JSON)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    cost: Mapped[dict] = mapped_column(JSON)
    wall_s: Mapped[float] = mapped_column(Float)              # copies of cost fields, for SQL queries
    tokens_trained: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(256), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    thread_id: Mapped[str | None] = mapped_column(String(128))
    route_reason: Mapped[str | None] = mapped_column(Text)


class FeatureCost(Base):
    """One featurize call's cost of one feature. Outcome rows hold feature values only; a router's
    feature costs real seconds before any strategy runs, and the ablation weighs that against accuracy."""
    __tablename__ = "feature_costs"
    task_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    feature: Mapped[str] = mapped_column(String(128), primary_key=True)   # a registered feature name
    wall_s: Mapped[float] = mapped_column(Float)
    tokens_in: Mapped[int] = mapped_column(Integer)
    tokens_out: Mapped[int] = mapped_column(Integer)
    flops: Mapped[float] = mapped_column(Float)


class OutcomeRow(BaseModel):
    """One outcome to append; `query_id` and `created_at` are filled in when left out."""
    model_config = ConfigDict(extra="forbid")
    task_hash: str
    task_name: str = "task"
    strategy: str
    model_id: str
    features: dict[str, float] = Field(default_factory=dict)
    attempts: list[list[Any]] = Field(default_factory=list)   # per test input, best first
    correct: bool | None = None
    cost: Cost = Field(default_factory=Cost)
    suite: str | None = None
    family: str | None = None
    thread_id: str | None = None
    route_reason: str | None = None
    query_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_result(cls, task: Any, result: Any, model_id: str, **kw: Any) -> "OutcomeRow":
        """From a strategies.task.Task and a strategies.base.Result; scores it when the task has answers."""
        from strategies.task import score
        kw.setdefault("correct", score(task, result.prediction()))
        return cls(task_hash=task.content_hash(), task_name=task.name, strategy=result.strategy,
                   model_id=model_id, attempts=result.attempts, cost=result.cost, **kw)


class UnknownQuery(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")      # readers do not block the writer; a crash rolls back cleanly
    cur.execute("PRAGMA synchronous=NORMAL")    # with WAL: durable at checkpoints, never corrupt
    cur.execute("PRAGMA busy_timeout=10000")    # several collectors may write to one file
    cur.close()


def _to_dict(o: Outcome) -> dict[str, Any]:
    d = {c.name: getattr(o, c.name) for c in Outcome.__table__.columns}
    if d["created_at"] is not None and d["created_at"].tzinfo is None:   # SQLite drops the zone
        d["created_at"] = d["created_at"].replace(tzinfo=timezone.utc)
    return d


T = TypeVar("T")


def read_jsonl(path: str | Path, parse: Callable[[dict[str, Any]], T], what: str) -> list[T]:
    """Every non-blank line of a JSONL file, each a JSON object passed through `parse`. A bad line is a
    ValueError naming the file, the line and `what` was expected, raised before anything is returned, so a
    caller imports a whole file or none of it."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError(f"a JSON {type(obj).__name__}, not an object")
                out.append(parse(obj))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                detail = f"missing key {e}" if isinstance(e, KeyError) else str(e).splitlines()[0]
                raise ValueError(f"{path}:{n}: not {what}: {detail}") from None
    return out


def check_exists(url: str | None) -> str:
    """The URL (default $TTTC_DB, then sqlite:///tttc.db), or ValueError when it is not a database URL or names
    a SQLite file that does not exist: readers call this first, since opening a missing SQLite file creates it."""
    from sqlalchemy.engine import make_url
    url = settings().outcome_db(url)
    try:
        parsed = make_url(url)
    except Exception:
        raise ValueError(f"--db {url!r} is not a database URL (try sqlite:///runs/demo.db)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise ValueError(f"no database at {parsed.database}: run `tttc collect` or `make demo` first, "
                             f"or pass --db sqlite:///PATH")
    return url


def migrate(engine: Engine) -> None:
    """Bring a log written by an older version up to this schema: add the `outcomes` columns it lacks (all
    of them nullable: old rows read as None). The `feature_costs` table, once apart, is created by create_all."""
    have = {c["name"] for c in inspect(engine).get_columns(Outcome.__tablename__)}
    missing = [c for c in Outcome.__table__.columns if c.name not in have]
    if not missing:
        return
    with engine.begin() as conn:
        for col in missing:
            if not col.nullable:
                raise ValueError(f"{engine.url}: table outcomes lacks the required column {col.name!r}; "
                                 f"export it with the version that wrote it and import the JSONL")
            conn.execute(text(f"ALTER TABLE outcomes ADD COLUMN {col.name} "
                              f"{col.type.compile(dialect=engine.dialect)}"))


def create_schema(engine: Engine, attempts: int = 3) -> None:
    """The tables and any missing columns. Several processes may open one new file at once (collectors,
    `python -m eval.bbh --jobs`): one may create a table or column between another's check and its CREATE,
    whose error then only says that it is there already; the next pass finds it."""
    for attempt in range(attempts):
        try:
            Base.metadata.create_all(engine)
            migrate(engine)
            return
        except OperationalError as e:
            if attempt == attempts - 1 or not any(m in str(e) for m in ("already exists", "duplicate column")):
                raise


class OutcomeLog:
    """Append-only outcomes, one transaction per row. `url` defaults to $TTTC_DB, then sqlite:///tttc.db."""

    def __init__(self, url: str | None = None):
        self.url = settings().outcome_db(url)
        self.engine: Engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        create_schema(self.engine)
        self.feature_costs = FeatureCosts(self.engine)

    def append(self, row: OutcomeRow | dict[str, Any]) -> str:
        """Write one outcome in its own transaction; returns its query_id."""
        r = row if isinstance(row, OutcomeRow) else OutcomeRow.model_validate(row)
        data = r.model_dump(mode="json", exclude={"created_at", "cost"})
        with Session(self.engine) as s, s.begin():
            s.add(Outcome(**data, cost=r.cost.model_dump(), wall_s=r.cost.wall_s,
                          tokens_trained=r.cost.tokens_trained, created_at=r.created_at))
        return r.query_id

    def export_jsonl(self, path: str | Path, skip_tasks: set[str] | frozenset[str] = frozenset()) -> int:
        """Every row as one JSON object per line (the compact form committed beside a collect), except
        the rows of tasks (by task hash) in `skip_tasks`."""
        rows = [r for r in self.rows() if r["task_hash"] not in skip_tasks]
        with open(path, "w") as f:
            for r in rows:
                f.write(json.dumps(r, default=str) + "\n")
        return len(rows)

    def import_jsonl(self, path: str | Path) -> int:
        """Append the rows of an `export_jsonl` file, skipping query ids already here; returns rows added.
        A bad line is an error naming the file and line, and nothing of that file is half-imported."""
        def row(d: dict[str, Any]) -> OutcomeRow:
            for derived in ("wall_s", "tokens_trained"):   # columns copied from cost
                d.pop(derived, None)
            return OutcomeRow.model_validate(d)
        parsed = read_jsonl(path, row, "an outcome row")
        with Session(self.engine) as s:
            have = set(s.scalars(select(Outcome.query_id)))
        fresh = [r for r in parsed if r.query_id not in have]
        for r in fresh:
            self.append(r)
        return len(fresh)

    def attach_feedback(self, query_id: str, correct: bool) -> None:
        """Record whether the answer of `query_id` was right (feedback may arrive long after the run)."""
        with Session(self.engine) as s, s.begin():
            o = s.get(Outcome, query_id)
            if o is None:
                raise UnknownQuery(f"no outcome with query_id {query_id!r} in {self.url}")
            o.correct = bool(correct)

    def rows(self, strategy: str | None = None, model_id: str | None = None, suite: str | None = None,
             task_hash: str | None = None, with_feedback: bool | None = None) -> list[dict[str, Any]]:
        """Outcomes as plain dicts (one per row, oldest first), optionally filtered."""
        q = select(Outcome).order_by(Outcome.created_at, Outcome.query_id)
        for col, val in ((Outcome.strategy, strategy), (Outcome.model_id, model_id),
                         (Outcome.suite, suite), (Outcome.task_hash, task_hash)):
            if val is not None:
                q = q.where(col == val)
        if with_feedback is not None:
            q = q.where(Outcome.correct.is_not(None) if with_feedback else Outcome.correct.is_(None))
        with Session(self.engine) as s:
            return [_to_dict(o) for o in s.scalars(q)]

    def get(self, query_id: str) -> dict[str, Any]:
        with Session(self.engine) as s:
            o = s.get(Outcome, query_id)
            if o is None:
                raise UnknownQuery(f"no outcome with query_id {query_id!r} in {self.url}")
            return _to_dict(o)

    def done_keys(self, model_id: str | None = None) -> set[tuple[str, str, str]]:
        """(task_hash, strategy, model_id) already logged, so that a collection run can resume."""
        q = select(Outcome.task_hash, Outcome.strategy, Outcome.model_id).distinct()
        if model_id is not None:
            q = q.where(Outcome.model_id == model_id)
        with Session(self.engine) as s:
            return {tuple(r) for r in s.execute(q)}

    def extend(self, rows: Iterable[OutcomeRow | dict[str, Any]]) -> list[str]:
        return [self.append(r) for r in rows]

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "OutcomeLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class FeatureCosts:
    """The `feature_costs` table of an outcome log (`OutcomeLog(url).feature_costs`), on the log's engine."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, task_hash: str, model_id: str, costs: Mapping[str, Mapping[str, Any]]) -> None:
        """Costs (Cost fields) of one task's features, in one transaction; a re-run replaces them."""
        with Session(self.engine) as s, s.begin():
            for feature, c in costs.items():
                s.merge(FeatureCost(task_hash=task_hash, model_id=model_id, feature=feature,
                                    wall_s=float(c.get("wall_s", 0.0)), tokens_in=int(c.get("tokens_in", 0)),
                                    tokens_out=int(c.get("tokens_out", 0)), flops=float(c.get("flops", 0.0))))

    def by_task(self, model_id: str | None = None) -> dict[str, dict[str, float]]:
        """task hash -> feature -> recorded wall seconds."""
        q = select(FeatureCost.task_hash, FeatureCost.feature, FeatureCost.wall_s)
        if model_id is not None:
            q = q.where(FeatureCost.model_id == model_id)
        out: dict[str, dict[str, float]] = {}
        with Session(self.engine) as s:
            for h, f, w in s.execute(q):
                out.setdefault(h, {})[f] = float(w)
        return out

    def means(self, model_id: str | None = None) -> dict[str, dict[str, float]]:
        """feature -> mean wall_s, tokens_in, tokens_out, flops per task, and n (tasks measured)."""
        cols = (FeatureCost.feature, func.avg(FeatureCost.wall_s), func.avg(FeatureCost.tokens_in),
                func.avg(FeatureCost.tokens_out), func.avg(FeatureCost.flops), func.count())
        q = select(*cols).group_by(FeatureCost.feature)
        if model_id is not None:
            q = q.where(FeatureCost.model_id == model_id)
        with Session(self.engine) as s:
            return {f: {"wall_s": float(w), "tokens_in": float(ti), "tokens_out": float(to), "flops": float(fl),
                        "n": int(n)} for f, w, ti, to, fl, n in s.execute(q)}

    def export_jsonl(self, path: str | Path, skip_tasks: set[str] | frozenset[str] = frozenset()) -> int:
        """Every recorded feature cost (but those of tasks in `skip_tasks`), one JSON object per line;
        returns how many."""
        cols = ("task_hash", "model_id", "feature", "wall_s", "tokens_in", "tokens_out", "flops")
        with Session(self.engine) as s:
            records = [{c: getattr(fc, c) for c in cols} for fc in s.scalars(
                select(FeatureCost).order_by(FeatureCost.task_hash, FeatureCost.feature))
                if fc.task_hash not in skip_tasks]
        with open(path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
        return len(records)

    def import_jsonl(self, path: str | Path) -> int:
        """Load an `export_jsonl` file (a re-import replaces the same records); returns how many. A bad line is
        an error naming the file and line, and nothing of that file is imported."""
        def record(d: dict[str, Any]) -> tuple[str, str, str, dict[str, float]]:
            cost = {k: float(d[k]) for k in ("wall_s", "tokens_in", "tokens_out", "flops")}
            return str(d["task_hash"]), str(d["model_id"]), str(d["feature"]), cost
        parsed = read_jsonl(path, record, "a feature-cost record")
        with Session(self.engine) as s, s.begin():
            for task_hash, model_id, feature, c in parsed:
                s.merge(FeatureCost(task_hash=task_hash, model_id=model_id, feature=feature, wall_s=c["wall_s"],
                                    tokens_in=int(c["tokens_in"]), tokens_out=int(c["tokens_out"]), flops=c["flops"]))
        return len(parsed)


COSTS_SUFFIX = ".feature-costs.jsonl"


def costs_path(outcomes: str | Path) -> Path:
    """Where the feature costs of an exported outcome file live: beside it, `X.jsonl` -> `X.feature-costs.jsonl`."""
    p = Path(outcomes)
    return p.with_name(p.name.removesuffix(".jsonl") + COSTS_SUFFIX)
