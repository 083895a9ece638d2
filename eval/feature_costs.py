"""What each feature cost per task, kept beside the outcome log (same database) for the feature ablation."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import Float, Integer, String, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


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


class FeatureCosts:
    """The `feature_costs` table on an existing engine (pass `OutcomeLog(url).engine`, so that one
    connection setup, SQLite pragmas included, serves both tables)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        Base.metadata.create_all(engine)

    def record(self, task_hash: str, model_id: str, costs: Mapping[str, Mapping[str, Any]]) -> None:
        """Costs (Cost fields) of one task's features, in one transaction; a re-run replaces them."""
        with Session(self.engine) as s, s.begin():
            for feature, c in costs.items():
                s.merge(FeatureCost(task_hash=task_hash, model_id=model_id, feature=feature,
                                    wall_s=float(c.get("wall_s", 0.0)), tokens_in=int(c.get("tokens_in", 0)),
                                    tokens_out=int(c.get("tokens_out", 0)), flops=float(c.get("flops", 0.0))))

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
        from controller.log import read_jsonl

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
