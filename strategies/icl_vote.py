"""The icl-vote strategy: greedy in-context answers under several invertible views, mapped back and voted on."""
from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .augment import View, views
from .base import Progress, Result, no_progress
from .choices import Choices, answer, candidates
from .runtime.caps import answer_cap
from .icl import base_cache, fit_demos
from .serialize import fixed_chars, parse_answer, render
from .task import MAX_ATTEMPTS, Task, Value
from .voting import vote
from .runtime.protocol import ModelRuntime


class ICLVoteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_views: int = Field(8, ge=1, description="views per task, identity included; one greedy answer each")
    seed: int = Field(0, description="seed for the choice of views (colour permutations, demo orders)")
    colours: bool = Field(True, description="permute colours 1..9 in the views (grid tasks)")
    shuffle: bool = Field(True, description="reorder the demonstrations in the views")
    max_prompt_tokens: int = Field(4096, description="drop the earliest demos until a prompt fits (as plain ICL)")
    depth: Literal[1, 2] = Field(1, description="1: one vote over all answers; 2: marc's per-transform "
                                                "top-3 first (helps only when transforms repeat, n_views > 8)")
    choices: Choices = Field("free", description="'options': each view answers a query with options by the likeliest one")


class ICLVote:
    """Self-consistency over augmentations: every view's greedy answer, inverted, is one vote."""
    name = "icl-vote"

    def __init__(self, config: ICLVoteConfig | None = None, name: str = "icl-vote"):
        self.config = config or ICLVoteConfig()
        self.name = name

    def run(self, task: Task, runtime: ModelRuntime, progress: Progress = no_progress) -> Result:
        cfg = self.config
        start = time.perf_counter()
        vs = views(task, cfg.n_views, cfg.seed, colours=cfg.colours, shuffle=cfg.shuffle)
        seen = [v.apply(task) for v in vs]

        prompts: list[str] = []
        caps: list[int] = []
        fixed: list[int] = []
        options: list[list[str]] = []
        for i in range(len(task.test)):
            for t in seen:
                query = t.test[i].input
                demos = fit_demos(t, query, runtime, cfg.max_prompt_tokens)
                prompts.append(render(demos, query, task.kind).prompt)
                caps.append(answer_cap(t, query, runtime))
                fixed.append(fixed_chars(prompts[-1], query, task.kind))
                options.append(candidates(t, query) if cfg.choices == "options" else [])
        # all test inputs and views in one batch; the views' demonstrations stay in the prefix cache
        gen = answer(runtime, prompts, task.kind, caps, options, **base_cache(runtime, fixed))

        progress("voting", {"views": len(vs)})
        attempts: list[list[Value]] = []
        shares: list[list[float]] = []
        valid: list[int] = []
        for i in range(len(task.test)):
            texts = gen.texts[i * len(vs):(i + 1) * len(vs)]
            # the transform labels the vote, so that colour/order variants of one transform form
            # one group at depth 2 (marc's grouping)
            candidates = [(v.transform, _invert(v, parse_answer(text, task.kind))) for v, text in zip(vs, texts)]
            ranked = vote(candidates, depth=cfg.depth, n_attempts=MAX_ATTEMPTS)
            attempts.append([value for value, _ in ranked])
            shares.append([share for _, share in ranked])
            valid.append(sum(value is not None for _, value in candidates))

        top = [s[0] if s else 0.0 for s in shares]
        # wall time of the whole run: view building, rendering and voting as well as generation
        cost = gen.cost.model_copy(update={"wall_s": time.perf_counter() - start})
        return Result(strategy=self.name, attempts=attempts, confidence=sum(top) / len(top), cost=cost,
                      info={"shares": shares, "n_views": len(vs), "views": [v.name for v in vs],
                            "valid_answers": valid, "depth": cfg.depth})


def _invert(view: View, value: Value | None) -> Value | None:
    try:
        return view.invert(value)
    except ValueError:   # an answer with no preimage under this view (e.g. odd-sized after upscaling)
        return None
