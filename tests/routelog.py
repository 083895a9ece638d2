"""Shared pieces of the router tests: a synthetic outcome log whose best strategy follows its features."""
from __future__ import annotations

import math
import random

STRATEGIES = ("icl", "icl-vote", "ttt-tiny")   # registered in tests (agentkit.add_tiny_ttt adds ttt-tiny)
SECONDS = {"icl": 1.0, "icl-vote": 4.0, "ttt-tiny": 30.0}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def synthetic_rows(n_families: int = 6, per_family: int = 15, seed: int = 0, model_id: str = "synthetic",
                   strategies=STRATEGIES) -> list[dict]:
    """Outcome-log rows: ICL is right when self-consistency is high, TTT when the demos are
    predictable (low demo_ppl); seconds grow with the prompt. Families differ in their mix."""
    rng = random.Random(seed)
    rows = []
    for f in range(n_families):
        family = f"fam{f}"
        grid = f % 2 == 0
        for i in range(per_family):
            sc, ppl = rng.random(), rng.uniform(0.5, 3.0)
            chars = rng.uniform(200, 2000)
            feats = {"self_consistency": sc, "demo_ppl": ppl, "prompt_chars": chars, "answer_size": chars / 20,
                     "is_grid": float(grid), "n_demos": float(rng.randint(2, 5)), "loo_icl_acc": sc * rng.random()}
            p_icl = _sigmoid(10 * (sc - 0.6)) * (0.5 if grid else 1.0)
            p = {"icl": p_icl, "icl-vote": min(1.0, p_icl + 0.1), "ttt-tiny": _sigmoid(4 * (1.8 - ppl))}
            h = f"{family}-{i:04d}"
            for s in strategies:
                rows.append({"task_hash": h, "task_name": f"{family}-{10000000 + i}", "strategy": s,
                             "model_id": model_id, "features": feats, "correct": rng.random() < p[s],
                             "cost": {"wall_s": SECONDS[s] * (0.5 + chars / 1000)}, "suite": "synthetic",
                             "family": family})
    return rows


def as_logged(rows: list[dict]) -> list[dict]:
    """The rows as OutcomeLog.rows() returns them: wall_s beside cost."""
    return [dict(r, wall_s=r["cost"]["wall_s"]) for r in rows]


def fill_log(url: str, rows: list[dict]) -> None:
    from policies.outcomes import OutcomeLog
    with OutcomeLog(url) as log:
        log.extend(rows)
