"""Where collection jobs run: in this process, or as Ray tasks; both yield each job's outcome as it finishes."""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

from strategies.base import Result
from strategies.registry import Spec
from strategies.runtime.protocol import ModelRuntime
from strategies.task import Task

TRAINING_KINDS = ("ttt", "tlm")   # strategy kinds that train an adapter: a whole GPU each under Ray
SHARED_GPU = 0.25                 # GPU share of an inference-only job (features, ICL), when there are GPUs


@dataclass(frozen=True)
class Job:
    """Featurize `task` (spec None) or run one strategy on it. The spec travels with the job, so a
    worker needs no strategies file and sees exactly the settings the driver validated."""
    task: Task
    spec: Spec | None = None

    @property
    def label(self) -> str:
        return f"{self.task.name} {self.spec.name if self.spec else 'features'}"


@dataclass
class Done:
    """What a job produced: a strategy's Result, or feature values with each feature's cost; or an error."""
    job: Job
    result: Result | None = None
    features: dict[str, float] | None = None
    feature_costs: dict[str, dict[str, Any]] = field(default_factory=dict)   # feature -> Cost fields
    error: str | None = None
    seconds: float = 0.0


def execute(job: Job, runtime: ModelRuntime) -> Done:
    """Run one job on a loaded runtime; an exception becomes `Done.error` so one bad task stops nothing."""
    start = time.perf_counter()
    try:
        if job.spec is None:
            from policies.features import featurize
            f = featurize(job.task, runtime)   # every registered feature: the log should hold them all
            return Done(job, features=f.values, feature_costs={k: c.model_dump() for k, c in f.costs.items()},
                        seconds=time.perf_counter() - start)
        result = job.spec.build().run(job.task, runtime)
        return Done(job, result=result, seconds=time.perf_counter() - start)
    except Exception as e:   # KeyboardInterrupt is not an Exception: Ctrl-C still stops the run
        if _debug():
            traceback.print_exc()
        return Done(job, error=f"{type(e).__name__}: {e}", seconds=time.perf_counter() - start)


def worker_runtime(model: str | None) -> Any:
    """The runtime of this process, loaded on first use and kept (strategies/runtime/loaded.py caches it)."""
    from strategies.runtime.loaded import load_runtime
    return load_runtime(model)


def _debug() -> bool:
    from strategies.settings import settings
    try:
        return settings().debug
    except ValueError:
        return False


class Executor(Protocol):
    model_id: str

    def run(self, jobs: Sequence[Job]) -> Iterator[Done]:
        """Each job's outcome, in the order jobs finish."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """Jobs one after another in this process, in the order given."""

    def __init__(self, model: str | None = None):
        self.runtime = worker_runtime(model)
        self.model_id = self.runtime.model_id

    def run(self, jobs: Sequence[Job]) -> Iterator[Done]:
        for job in jobs:
            yield execute(job, self.runtime)

    def close(self) -> None:
        pass


# -- Ray ---------------------------------------------------------------------------------------------
def _ray_job(job: Job, model: str | None) -> Done:
    return execute(job, worker_runtime(model))


def _ray_model_id(model: str | None) -> str:
    return worker_runtime(model).model_id


def job_resources(spec: Spec | None, gpus: bool, cpus: float = 1.0) -> dict[str, float]:
    """What Ray reserves for one job: a whole GPU to train, a share of one to infer, none without GPUs."""
    share = 0.0
    if gpus:
        share = 1.0 if spec is not None and spec.kind in TRAINING_KINDS else SHARED_GPU
    return {"num_cpus": cpus, "num_gpus": share}


class RayExecutor:
    """Each job is a Ray task; a worker process loads the runtime once and keeps it for later jobs.

    Connects to `address` (or $RAY_ADDRESS); without either, starts a local Ray instance with
    `num_cpus` and shuts it down on close. A Ray instance already initialised in this process (a
    test's, a notebook's) is used as it is and left running. Results come back to the driver, which
    is the only writer of the log.
    """

    def __init__(self, model: str | None = None, address: str | None = None, num_cpus: int | None = None,
                 cpus_per_job: float = 1.0, object_store_memory: int | None = None):
        import ray
        self.ray = ray
        self.model = model
        self.cpus_per_job = cpus_per_job
        self.started = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            local = {} if address else {"num_cpus": num_cpus, "object_store_memory": object_store_memory}
            ray.init(address=address, include_dashboard=False, **local)
            self.started = True
        self.gpus = ray.cluster_resources().get("GPU", 0) > 0
        # max_calls=0: keep the worker (and its loaded model) after a job. Ray's default for a
        # function declared with GPUs is to retire the worker after every call; GPU shares are given
        # per job through .options(), which leaves this setting alone.
        self.remote_job = ray.remote(max_calls=0)(_ray_job)
        self.model_id = ray.get(ray.remote(max_calls=0)(_ray_model_id)
                                .options(**self._resources(None)).remote(model))
        self.pending: list[Any] = []

    def _resources(self, spec: Spec | None) -> dict[str, float]:
        return job_resources(spec, self.gpus, self.cpus_per_job)

    def run(self, jobs: Sequence[Job]) -> Iterator[Done]:
        ray = self.ray
        self.pending = [self.remote_job.options(**self._resources(j.spec), name=j.label).remote(j, self.model)
                        for j in jobs]
        while self.pending:
            ready, self.pending = ray.wait(self.pending, num_returns=1)
            yield ray.get(ready[0])

    def close(self) -> None:
        for ref in self.pending:   # an interrupted run leaves queued jobs behind; drop them
            try:
                self.ray.cancel(ref, force=True)
            except Exception:      # already finished, or the cluster is gone: nothing to cancel
                pass
        self.pending = []
        if self.started:
            self.ray.shutdown()


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}


def make_executor(name: str, model: str | None = None, **options: Any) -> Executor:
    """`options` go to the executor (Ray: address, num_cpus, cpus_per_job, object_store_memory)."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
    if name == "local":
        return LocalExecutor(model)
    return RayExecutor(model, **options)
