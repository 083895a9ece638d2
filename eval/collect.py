"""Collect routing data: featurize each task once, run every strategy on it, log one scored row per pair."""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from strategies.registry import Spec
from strategies.task import Task

from .executors import Done, Executor, Job

_SEEDED = re.compile(r"^(?P<family>.+)-(?P<seed>\d+)$")


def family_of(task_name: str) -> str:
    """A synthetic task's family is its name before the seed (`rot90-10000003` -> `rot90`); any other
    task (an ARC id, a file's stem) is a family of its own."""
    m = _SEEDED.match(task_name)
    return m["family"] if m else task_name


def load_source(source: str, n_per_family: int | None = None, seed: int | None = None) -> tuple[str, list[Task]]:
    """(suite label, tasks) from a suite name (eval.suites), a task file or a folder of them."""
    from strategies.task import load_task, task_paths

    from .suites import SUITES, load_suite
    if source in SUITES:
        kw: dict[str, Any] = {}
        if n_per_family is not None:
            kw["n_per_family"] = n_per_family
        if seed is not None:
            kw["seed"] = seed
        return source, load_suite(source, **kw)
    if not Path(source).exists():
        raise FileNotFoundError(f"{source!r} is neither a suite ({', '.join(sorted(SUITES))}) "
                                f"nor a task file or folder")
    paths = task_paths([source])
    if not paths:
        raise FileNotFoundError(f"{source}: no *.json task files in this folder")
    return source[-128:], [load_task(p) for p in paths]   # the log's suite column holds 128 characters


@dataclass
class Tally:
    written: int = 0      # rows appended by this run
    skipped: int = 0      # (task, strategy) pairs already in the log
    failed: list[str] = field(default_factory=list)   # "task strategy: error", one per failed job

    @property
    def ok(self) -> bool:
        return not self.failed


def plan(tasks: Sequence[Task], specs: Sequence[Spec], done: set[tuple[str, str, str]], model_id: str,
         known_features: Callable[[str], dict[str, float] | None]) -> tuple[list[Job], dict[str, dict], int]:
    """The jobs still to run, features already logged for half-done tasks, and how many pairs are done.

    A task appears once however often the source repeats it (rows are keyed by content hash). A task
    with some strategies logged reuses their features rather than paying for a second featurize call.
    """
    jobs: list[Job] = []
    features: dict[str, dict] = {}
    skipped = 0
    seen: set[str] = set()
    for task in tasks:
        h = task.content_hash()
        if h in seen:
            continue
        seen.add(h)
        todo = [s for s in specs if (h, s.name, model_id) not in done]
        skipped += len(specs) - len(todo)
        if not todo:
            continue
        old = known_features(h) if len(todo) < len(specs) else None
        if old:
            features[h] = old
        else:
            jobs.append(Job(task))
        jobs.extend(Job(task, s) for s in todo)
    return jobs, features, skipped


def collect(tasks: Sequence[Task], specs: Sequence[Spec], log: Any, executor: Executor, suite: str | None = None,
            show_progress: bool = True, make_bar: Callable[[int, str], Any] | None = None) -> Tally:
    """Run every (task, strategy) not yet in `log` for this model and append one row each, as each
    finishes. Rows are committed one at a time, so an interrupted run resumes where it stopped; rows
    wait for their task's features, which the first job of each task computes. `make_bar(total, label)`
    makes the progress display (tqdm's calls: update, write, close); default a tqdm bar on stderr."""
    from tqdm import tqdm

    from policies.outcomes import OutcomeRow

    model_id = executor.model_id
    costs = log.feature_costs

    def logged_features(h: str) -> dict[str, float] | None:
        rows = log.rows(task_hash=h, model_id=model_id)
        return next((r["features"] for r in reversed(rows) if r.get("features")), None)

    jobs, features, skipped = plan(tasks, specs, log.done_keys(model_id), model_id, logged_features)
    tally = Tally(skipped=skipped)
    runs = sum(j.spec is not None for j in jobs)
    label = f"collect ({skipped} done)" if skipped else "collect"
    bar = make_bar(runs, label) if make_bar is not None else tqdm(
        total=runs, unit="run", file=sys.stderr, disable=not show_progress or not runs, dynamic_ncols=True, desc=label)
    waiting: dict[str, list[Done]] = {}     # strategy results whose task's features are not back yet
    broken: set[str] = set()                # tasks whose featurize failed: their runs are not logged

    def say(text: str) -> None:
        if show_progress:
            bar.write(text, file=sys.stderr)

    def write(d: Done) -> None:
        task, result = d.job.task, d.result
        row = OutcomeRow.from_result(task, result, model_id, features=features[task.content_hash()],
                                     suite=suite, family=family_of(task.name))
        log.append(row)
        tally.written += 1
        mark = {True: "correct", False: "wrong", None: "unscored"}[row.correct]
        say(f"{task.name:<36} {result.strategy:<12} {mark:<8} {result.cost.wall_s:7.1f} s")

    try:
        for d in executor.run(jobs):
            h = d.job.task.content_hash()
            if d.error is not None:
                tally.failed.append(f"{d.job.label}: {d.error}")
                say(f"{d.job.label}: failed: {d.error}")
                if d.job.spec is None:
                    broken.add(h)
                    for w in waiting.pop(h, []):
                        tally.failed.append(f"{w.job.label}: not logged, its features failed")
                        bar.update(1)
                else:
                    bar.update(1)
                continue
            if d.job.spec is None:
                features[h] = d.features
                costs.record(h, model_id, d.feature_costs)
                for w in waiting.pop(h, []):
                    write(w)
                    bar.update(1)
            elif h in broken:
                tally.failed.append(f"{d.job.label}: not logged, its features failed")
                bar.update(1)
            elif h in features:
                write(d)
                bar.update(1)
            else:
                waiting.setdefault(h, []).append(d)
    finally:
        bar.close()
    return tally
