"""What prompt-lookup drafts for grid answers (strategies/runtime/speculative.py) buy: switched off and on,
on the same `icl-vote` batch of 8 views (a grid task and a text task): once with every
prompt prefilled (a new query), once with the prompts' key/value cache already held (a repeat: decoding is
then nearly all of the cost, which is where drafting applies most). A key/value cache that grew in place was measured the same way
and removed: it gained under 10% (eval/RESULTS.md).

    OMP_NUM_THREADS=1 TTTC_TORCH_THREADS=1 python -m eval.bench_decode_paths --out eval/results/decode-paths-gemma3.json

Every configuration must give the same answers (checked); the figure is the best of `--reps` timings.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

CONFIGS = {"plain": 1, "drafts (shipped)": 4}   # draft width: tokens fed per grid row and step


@contextmanager
def configured(runtime: Any, width: int) -> Iterator[None]:
    """The runtime with its draft width set (1: no drafts)."""
    kept = runtime.draft_width
    runtime.draft_width = width
    try:
        yield
    finally:
        runtime.draft_width = kept


def vote_prompts(task: Any, runtime: Any, n_views: int = 8) -> tuple[list[str], list[int]]:
    """icl-vote's prompts and token caps for one task (its first test input under each view)."""
    from strategies.augment import views
    from strategies.icl import fit_demos
    from strategies.runtime.caps import answer_cap
    from strategies.serialize import render
    prompts, caps = [], []
    for view in views(task, n_views, 0):
        t = view.apply(task)
        query = t.test[0].input
        prompts.append(render(fit_demos(t, query, runtime, 4096), query, task.kind).prompt)
        caps.append(answer_cap(t, query, runtime))
    return prompts, caps


def measure(runtime: Any, task: Any, reps: int, repeat: bool) -> dict[str, Any]:
    prompts, caps = vote_prompts(task, runtime)
    cache = {}
    if repeat:   # the whole prompt stays cached, as for a repeated query on the same weights
        cache = {"prefix_chars": [len(p) for p in prompts], "cache_tag": "bench-decode-paths"}
        runtime.generate(prompts, task.kind, caps, **cache)
    out: dict[str, Any] = {}
    answers = None
    for name, width in CONFIGS.items():
        times = []
        with configured(runtime, width):
            for _ in range(reps):
                start = time.perf_counter()
                gen = runtime.generate(prompts, task.kind, caps, **cache)
                times.append(time.perf_counter() - start)
        if answers is None:
            answers = gen.texts
        out[name] = {"best_s": round(min(times), 3), "times_s": [round(t, 3) for t in times],
                     "same_answers": gen.texts == answers}
    plain = out["plain"]["best_s"]
    for name in CONFIGS:
        out[name]["speedup_over_plain"] = round(plain / out[name]["best_s"], 3)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench_decode_paths", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None)
    p.add_argument("--grid-family", default="flip_h")
    p.add_argument("--text-family", default="reverse_upper")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    from eval.suites.families import EVAL_SEED0, make_task
    from strategies.runtime import load_runtime
    runtime = load_runtime(args.model)
    res = {"model_id": runtime.model_id, "command": "python -m eval.bench_decode_paths "
           + " ".join(argv if argv is not None else sys.argv[1:])}
    for kind, family in (("grid", args.grid_family), ("text", args.text_family)):
        for repeat in (False, True):
            key = f"{kind}{' repeat' if repeat else ''}"
            res[key] = {"task": f"{family}-{EVAL_SEED0}",
                        **measure(runtime, make_task(family, EVAL_SEED0), args.reps, repeat)}
            print(key, json.dumps({k: v["best_s"] for k, v in res[key].items() if isinstance(v, dict)}),
                  file=sys.stderr, flush=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
