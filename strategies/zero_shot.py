"""Zero-shot: the query alone, no demonstrations in the prompt (the baseline ICL and TTT must beat)."""
from __future__ import annotations

from .icl import ICL, ICLConfig


class ZeroShotConfig(ICLConfig):
    """ICL's settings; `max_prompt_tokens` has nothing to drop here."""


class ZeroShot(ICL):
    """Greedy answer to the bare query. The demonstrations only bound the answer's length (its token
    cap, as for every strategy); none of them is in the prompt."""

    def __init__(self, config: ZeroShotConfig | None = None, name: str = "zero-shot"):
        super().__init__(config or ZeroShotConfig(), name=name)

    def demos(self, task, query, runtime) -> list[tuple]:
        return []
