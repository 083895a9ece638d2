"""The key/value cache argument under the name the loaded model takes. Newer transformers call it `cache`
(the old `past_key_values` still works there, with a deprecation line on stderr); older ones, down to this
project's floor, only know `past_key_values`. The model's own signature says which."""
from __future__ import annotations

import functools
import inspect
from typing import Any


@functools.lru_cache(maxsize=64)
def _name_for(forward: Any) -> str:
    try:
        params = inspect.signature(forward).parameters
    except (TypeError, ValueError):   # a builtin or C-level callable: the long-standing name
        return "past_key_values"
    return "cache" if "cache" in params and "past_key_values" not in params else "past_key_values"


def cache_kwarg(module: Any, past: Any) -> dict[str, Any]:
    """`{name: past}` for `module(**...)`, where `name` is what `module.forward` (or the callable) takes."""
    forward = getattr(type(module), "forward", None) or module
    try:
        return {_name_for(forward): past}
    except TypeError:   # an unhashable callable: look it up every time
        return {_name_for.__wrapped__(forward): past}


def output_cache(out: Any) -> Any:
    """The cache a forward pass returned, by whichever name the installed transformers gives it."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values
