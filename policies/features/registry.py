"""The feature registry: named difficulty features, and `featurize` that runs them and meters their cost."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from strategies.cost import Cost
from strategies.runtime.protocol import ModelRuntime
from strategies.task import Task, Value

# A feature reads the task (never its name) and, when it needs one, the model runtime.
FeatureFn = Callable[[Task, Any], dict[str, float]]
# "none": pure Python on the task; "tokenizer": counts tokens; "model": runs forward passes;
# "train": also takes optimizer steps on a throwaway adapter (a torch model, not just generate/score).
Needs = Literal["none", "tokenizer", "model", "train"]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    fn: FeatureFn
    keys: tuple[str, ...]   # the columns it returns, known before it runs
    needs: Needs
    help: str

    @property
    def runs_model(self) -> bool:
        """Whether it runs the model (seconds), as opposed to reading the task or counting tokens."""
        return self.needs in ("model", "train")


FEATURES: dict[str, FeatureSpec] = {}


def register(name: str, keys: Sequence[str] | None = None, needs: Needs = "none",
             help: str = "") -> Callable[[FeatureFn], FeatureFn]:
    """Add a feature under `name`; it returns the columns `keys` (default: just `name`)."""
    def add(fn: FeatureFn) -> FeatureFn:
        if name in FEATURES:
            raise ValueError(f"feature {name!r} is already registered")
        cols = tuple(keys) if keys is not None else (name,)
        taken = {k: s.name for s in FEATURES.values() for k in s.keys}
        clash = [k for k in cols if k in taken]
        if clash:
            raise ValueError(f"feature {name!r}: column(s) {clash} already returned by {taken[clash[0]]!r}")
        FEATURES[name] = FeatureSpec(name, fn, cols, needs, help or (fn.__doc__ or "").strip())
        return fn
    return add


def feature_columns(names: Sequence[str] | None = None) -> list[str]:
    """The columns the named features return, in registry order (all features when names is None)."""
    return [k for spec in _select(names, need_model=True) for k in spec.keys]


class Metered:
    """The runtime as a feature sees it: sums the cost of every model call, and holds a memo that
    features share within one `featurize` call (so two features can read one generation)."""

    def __init__(self, runtime: ModelRuntime, memo: dict[str, Any] | None = None):
        self.runtime = runtime
        self.memo = {} if memo is None else memo
        self.spent = Cost()

    def __getattr__(self, attr: str) -> Any:   # tokenizer, encode, model_id, n_params, ...
        return getattr(self.runtime, attr)

    def charge(self, cost: Cost) -> None:
        """Count work a feature did outside generate/score (the learnability probe's training steps)."""
        self.spent += cost

    def generate(self, *args: Any, **kw: Any):
        out = self.runtime.generate(*args, **kw)
        self.spent += out.cost
        return out

    def token_logprobs(self, *args: Any, **kw: Any):
        lps, cost = self.runtime.token_logprobs(*args, **kw)
        self.spent += cost
        return lps, cost

    def score(self, *args: Any, **kw: Any):
        sums, cost = self.runtime.score(*args, **kw)
        self.spent += cost
        return sums, cost


@dataclass
class Features:
    """Feature values, what each feature cost, and the plain-ICL answers a feature already produced."""
    values: dict[str, float]
    costs: dict[str, Cost]                       # per registered feature name
    icl_answer: list[Value | None] | None = None  # one per test input, identity view, None if unparsed
    icl_prompts: list[str] | None = None          # the prompts that produced icl_answer
    icl_cost: Cost | None = None                  # what producing icl_answer cost

    @property
    def cost(self) -> Cost:
        total = Cost()
        for c in self.costs.values():
            total += c
        return total

    def vector(self, columns: Sequence[str]) -> list[float]:
        """Values in `columns` order; NaN for a column this call did not compute."""
        return [self.values.get(c, math.nan) for c in columns]


def _select(names: Sequence[str] | None, need_model: bool) -> list[FeatureSpec]:
    if names is None:
        return [s for s in FEATURES.values() if need_model or s.needs == "none"]
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise KeyError(f"unknown feature(s) {unknown}; registered: {sorted(FEATURES)}")
    return [FEATURES[n] for n in dict.fromkeys(names)]


def featurize(task: Task, runtime: ModelRuntime | None = None, names: Sequence[str] | None = None) -> Features:
    """Run the named features (default: every feature the given runtime allows; without a runtime,
    only those that need no model) and meter each one's wall time and tokens."""
    specs = _select(names, need_model=runtime is not None)
    if runtime is None:
        needy = [s.name for s in specs if s.needs != "none"]
        if needy:
            raise ValueError(f"feature(s) {needy} need a model runtime; pass one, or leave them out")
    memo: dict[str, Any] = {}
    values: dict[str, float] = {}
    costs: dict[str, Cost] = {}
    for spec in specs:
        meter = Metered(runtime, memo) if runtime is not None else None
        start = time.perf_counter()
        out = spec.fn(task, meter)
        wall = time.perf_counter() - start
        if set(out) != set(spec.keys):
            raise RuntimeError(f"feature {spec.name!r} returned {sorted(out)}, declared {list(spec.keys)}")
        values.update({k: float(out[k]) for k in spec.keys})
        spent = meter.spent if meter is not None else Cost()
        costs[spec.name] = spent.model_copy(update={"wall_s": wall})
    probe = memo.get("icl_probe")
    return Features(values, costs,
                    icl_answer=None if probe is None else probe.answers,
                    icl_prompts=None if probe is None else probe.prompts,
                    icl_cost=None if probe is None else probe.cost)
