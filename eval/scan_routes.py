"""Where the shipped router sends tasks on its cheap features alone: stage 1 of the cascade over many tasks,
no forward pass (the tokenizer only), one JSON line per task and a count per route.

    python -m eval.scan_routes families --seeds 10000020-10000059 --out runs/scan-families.jsonl
    python -m eval.scan_routes bbh --out runs/scan-bbh.jsonl

Sources: `families` (every held-out family, one task per seed; tasks whose name or content is in a committed
outcome log the router was trained on are marked `in_log`), `bbh` (the BBH files, 10 demonstrations and 3
queries drawn with seed 0, as the demo loads them: the router was never trained on BBH), `bundled` (the
demo's own task files). It picked the demo's held-out tasks (eval/RESULTS.md, "Demo").
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

from .bbh import DEFAULT_DATA as BBH_DIR

ROOT = Path(__file__).resolve().parents[1]


def seed_range(text: str) -> range:
    """`A-B` (inclusive) or a single seed."""
    try:
        lo, _, hi = text.partition("-")
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds {text!r}: expected A-B or one number") from None
    if last < first:
        raise argparse.ArgumentTypeError(f"seeds {text!r}: the range is empty")
    return range(first, last + 1)


def logged_tasks(data: Path) -> tuple[set[str], set[str]]:
    """Task names and content hashes of every committed outcome log (what a router may have seen)."""
    from policies.outcomes import COSTS_SUFFIX, read_jsonl
    names, hashes = set(), set()
    for path in sorted(data.glob("outcomes-*.jsonl")):
        if path.name.endswith(COSTS_SUFFIX):
            continue
        for row in read_jsonl(path, dict, "an outcome row"):
            names.add(row.get("task_name") or "")
            hashes.add(row.get("task_hash") or "")
    return names, hashes


def sources(which: str, seeds: range) -> Iterator[tuple[str, Callable[[], Any]]]:
    from strategies.task import load_task
    if which == "families":
        from eval.suites.families import families, make_task
        for fam in families(split="heldout"):
            for seed in seeds:
                yield f"family:{fam.name}-{seed}", lambda n=fam.name, s=seed: make_task(n, s)
    elif which == "bbh":
        from strategies.bigbench import Sampling
        for path in sorted(BBH_DIR.glob("*.json")):
            yield f"bbh:{path.stem}", lambda p=path: load_task(p, Sampling(demos=10, queries=3, seed=0))
    else:
        for path in sorted((ROOT / "controller" / "demo_tasks").glob("*.json")):
            yield path.stem, lambda p=path: load_task(p)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.scan_routes", description=__doc__.split("\n\n")[0])
    ap.add_argument("source", choices=["families", "bbh", "bundled"])
    ap.add_argument("--seeds", type=seed_range, default=seed_range("10000020-10000059"),
                    help="family seeds, A-B inclusive (default 10000020-10000059)")
    ap.add_argument("--model", default=None, help="embedded model name or local folder (default: the default model)")
    ap.add_argument("--out", type=Path, required=True, help="JSONL, one line per task")
    args = ap.parse_args(argv)

    from policies.decide import first_look
    from strategies.runtime.loaded import load_runtime

    if args.source == "bbh" and not BBH_DIR.is_dir():
        print(f"eval.scan_routes: no BBH files at {BBH_DIR}", file=sys.stderr)
        return 2
    try:
        names, hashes = logged_tasks(ROOT / "eval" / "data")
    except ValueError as e:   # a bad line of a committed log: named, and nothing scanned
        print(f"eval.scan_routes: {e}", file=sys.stderr)
        return 2
    runtime = load_runtime(args.model)
    routes: Counter[str] = Counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for source, make in sources(args.source, args.seeds):
            task = make()
            look = first_look(task, runtime)
            if look is None:
                print("eval.scan_routes: the shipped router has no cascade stage 1 for this model", file=sys.stderr)
                return 2
            in_log = task.name in names or task.content_hash() in hashes
            routes["unsure" if look.escalates else look.strategy] += 1
            out.write(json.dumps({"source": source, "in_log": in_log, "strategy": look.strategy,
                                  "margin": round(look.margin, 4), "escalates": look.escalates,
                                  "P": {k: round(v, 3) for k, v in look.P.items()},
                                  "C": {k: round(v, 1) for k, v in look.C.items()}}) + "\n")
    print(json.dumps({"source": args.source, "tasks": sum(routes.values()), "routes": dict(routes.most_common())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
