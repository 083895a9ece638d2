"""Two outcome logs of the same tasks (exported JSONL), strategy by strategy: how many each got right, how many
attempts are identical, and the seconds, over the (task, strategy) pairs both hold. For A/B runs of one
change, e.g. fp32 against bf16 generation:

  .venv/bin/python -m eval.compare_outcomes eval/data/outcomes-heldout-conversions-gemma3-adapt.jsonl \
      eval/data/bf16-heldout-conversions-gemma3-adapt.jsonl --out eval/results/bf16-vs-fp32-conversions-gemma3.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


def load(path: str) -> dict[tuple[str, str], dict]:
    from eval.strategy_costs import read_rows
    return {(r["task_hash"], r["strategy"]): r for r in read_rows([path], ("task_hash", "strategy"))}


def compare(a: dict, b: dict) -> dict[str, dict]:
    out = {}
    for strategy in sorted({s for _, s in a.keys() & b.keys()}):
        pairs = [(a[k], b[k]) for k in sorted(a.keys() & b.keys()) if k[1] == strategy]
        secs = [[float(r["cost"]["wall_s"]) for r in side] for side in zip(*pairs)]
        out[strategy] = {"tasks": len(pairs), "correct_a": sum(bool(x["correct"]) for x, _ in pairs),
                         "correct_b": sum(bool(y["correct"]) for _, y in pairs),
                         "correct_both": sum(bool(x["correct"] and y["correct"]) for x, y in pairs),
                         "same_attempts": sum(x["attempts"] == y["attempts"] for x, y in pairs),
                         "median_s_a": round(statistics.median(secs[0]), 2), "median_s_b": round(statistics.median(secs[1]), 2),
                         "mean_s_a": round(statistics.fmean(secs[0]), 2), "mean_s_b": round(statistics.fmean(secs[1]), 2)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="outcome log A (tttc export-outcomes JSONL)")
    ap.add_argument("b", nargs="+", help="outcome log B (several files are read as one)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    a = load(args.a)
    b = {k: v for path in args.b for k, v in load(path).items()}
    table = compare(a, b)
    if not table:
        raise SystemExit("the two logs share no (task, strategy) pair")
    result = {"command": " ".join(["python", "-m", "eval.compare_outcomes", *(argv if argv is not None else sys.argv[1:])]),
              "a": args.a, "b": args.b, "model_a": sorted({r["model_id"] for r in a.values()}),
              "model_b": sorted({r["model_id"] for r in b.values()}), "strategies": table}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
