"""Markdown table of ICL accuracy per family, before vs after adaptation, from two bench_icl JSON files.

  .venv/bin/python -m eval.icl_table eval/results/icl-smollm2-no-adapter-n30.json eval/results/icl-smollm2-adapt-n30.json
"""
from __future__ import annotations

import json
import sys


def table(before: dict, after: dict) -> str:
    lines = ["| split | family | kind | tags | ICL before | ICL after |", "|---|---|---|---|---|---|"]
    for split in ("adapt", "heldout"):
        for name, a in after["families"].items():
            if a["split"] != split:
                continue
            b = before["families"].get(name, {})
            tags = ",".join(t for t in a["tags"] if t not in ("primitive",))
            lines.append(f"| {split} | {name} | {a['kind']} | {tags} | {b.get('acc', float('nan')):.0%} | {a['acc']:.0%} |")
    for split in ("adapt", "heldout"):
        lines.append(f"| **{split} mean** | | | | **{before[f'{split}_mean_acc']:.1%}** | **{after[f'{split}_mean_acc']:.1%}** |")
    if "arc1_train" in after:
        b, a = before.get("arc1_train", {}), after["arc1_train"]
        lines.append(f"| arc1-train | {a['n']} tasks that fit | grid | | {b.get('correct', '?')}/{b.get('n', '?')} | {a['correct']}/{a['n']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m eval.icl_table BEFORE.json AFTER.json", file=sys.stderr)
        return 2
    try:
        before, after = (json.load(open(p)) for p in argv)
    except (OSError, json.JSONDecodeError) as e:
        print(f"eval.icl_table: {e}", file=sys.stderr)
        return 1
    print(table(before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
