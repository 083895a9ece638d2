"""What each strategy got and spent over exported outcome logs: accuracy, seconds, and for TTT the optimizer
steps it took and the tokens it trained, per strategy (and per group with `--by`).

  .venv/bin/python -m eval.strategy_costs eval/data/outcomes-*-gemma3-adapt.jsonl --by kind --out runs/strategy-costs.json

A strategy's step budget (`max_steps`) is an upper bound; the steps a TTT run took also depend on its
epochs over the few items a task gives and on early stopping, and this says how many it did take.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

GROUPS = {"none": lambda r: "all", "suite": lambda r: r.get("suite") or "?",
          "kind": lambda r: "grid" if (r.get("features") or {}).get("is_grid") else "text",
          "family": lambda r: r.get("family") or "?"}


def read_rows(paths: list[str], fields: tuple[str, ...] = ("strategy", "correct", "wall_s")) -> list[dict]:
    """The rows of exported outcome logs, each holding `fields`; a bad file or line ends the run with its name."""
    from policies.outcomes import read_jsonl

    def checked(row: dict) -> dict:
        for f in fields:
            row[f]
        return row

    rows: list[dict] = []
    for path in paths:
        try:
            rows += read_jsonl(path, checked, "an exported outcome row")
        except (OSError, UnicodeDecodeError) as e:
            raise SystemExit(f"{path}: cannot read it ({type(e).__name__}: {e})")
        except ValueError as e:
            raise SystemExit(str(e))
    return rows


def summarise(rows: list[dict], by: str = "none") -> dict[str, dict[str, dict]]:
    """{group: {strategy: {tasks, accuracy, mean_s, median_s, mean_steps, steps, mean_tokens_trained}}}."""
    cells: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        cells[GROUPS[by](r)][r["strategy"]].append(r)
    out: dict[str, dict[str, dict]] = {}
    for group, strategies in sorted(cells.items()):
        out[group] = {}
        for name, rs in sorted(strategies.items()):
            steps = [int((r.get("cost") or {}).get("steps") or 0) for r in rs]
            trained = [int(r.get("tokens_trained") or 0) for r in rs]
            secs = [float(r["wall_s"]) for r in rs]
            out[group][name] = {
                "tasks": len(rs), "accuracy": round(sum(bool(r["correct"]) for r in rs) / len(rs), 3),
                "mean_s": round(statistics.fmean(secs), 2), "median_s": round(statistics.median(secs), 2),
                "mean_steps": round(statistics.fmean(steps), 2),
                "steps": dict(sorted(Counter(steps).items())),
                "mean_tokens_trained": round(statistics.fmean(trained)),
            }
    return out


def markdown(summary: dict[str, dict[str, dict]]) -> str:
    lines = ["| group | strategy | tasks | accuracy | mean s | median s | mean steps | tokens trained |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for group, strategies in summary.items():
        for name, c in strategies.items():
            lines.append(f"| {group} | {name} | {c['tasks']} | {c['accuracy']:.3f} | {c['mean_s']:.1f} | "
                         f"{c['median_s']:.1f} | {c['mean_steps']:.1f} | {c['mean_tokens_trained']:,} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+", help="exported outcome logs (tttc export-outcomes), JSONL")
    ap.add_argument("--by", choices=sorted(GROUPS), default="none", help="one table per suite, kind or family")
    ap.add_argument("--out", default=None, help="also write the summary here as JSON")
    args = ap.parse_args(argv)
    summary = summarise(read_rows(args.logs), args.by)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"command": " ".join(["python -m eval.strategy_costs", *(argv or sys.argv[1:])]),
                                              "summary": summary}, indent=1))
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
