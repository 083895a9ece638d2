"""Shared task builder: distinct demo inputs, a test input unlike any demo, retried until the rule is inferable."""
from __future__ import annotations

import json
import random
from typing import Any, Callable

Check = Callable[[list[Any], Any], bool]


def demo_task(rng: random.Random, sample: Callable[[random.Random], Any], rule: Callable[[Any], Any],
              n_demos: int, check: Check | None = None, tries: int = 200) -> dict[str, Any]:
    """Draw n_demos + 1 distinct inputs; `check(train_inputs, test_input)` can demand the demos reveal the rule."""
    for _ in range(tries):
        inputs: list[Any] = []
        seen: set[str] = set()
        for _ in range(tries):
            x = sample(rng)
            key = json.dumps(x)
            if key not in seen:
                seen.add(key)
                inputs.append(x)
            if len(inputs) == n_demos + 1:
                break
        if len(inputs) < n_demos + 1:
            continue
        train, test = inputs[:-1], inputs[-1]
        if check is not None and not check(train, test):
            continue
        return {"train": [{"input": x, "output": rule(x)} for x in train],
                "test": [{"input": test, "output": rule(test)}]}
    raise RuntimeError("could not draw an inferable task; the sampler is too narrow")
