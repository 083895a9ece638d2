"""What every strategy returns, and the progress callback it reports through."""
from __future__ import annotations

from typing import Any, Callable, Protocol

from pydantic import BaseModel, Field

from .cost import Cost
from .task import Prediction, Task, Value
from .runtime.protocol import ModelRuntime

# progress(stage, info): stage is a short verb ("featurizing", "training", "voting"); info e.g. {"step": 40, "of": 120}
Progress = Callable[[str, dict[str, Any]], None]


def no_progress(stage: str, info: dict[str, Any]) -> None:
    pass


class Result(BaseModel):
    """Attempts per test input (best first, at most 2), a confidence in [0, 1], and what it cost."""
    strategy: str
    attempts: list[list[Value]]
    confidence: float = 0.0
    cost: Cost = Field(default_factory=Cost)
    info: dict[str, Any] = Field(default_factory=dict)   # strategy-specific extras (vote shares, cache hit, ...)

    def prediction(self) -> Prediction:
        return Prediction(attempts=self.attempts)


class Strategy(Protocol):
    """A way to answer a task. `run` must leave the runtime's base weights exactly as it found them."""
    name: str

    def run(self, task: Task, runtime: ModelRuntime, progress: Progress = no_progress) -> Result: ...
