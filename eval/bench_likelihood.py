"""The likelihood features (demo_ppl, test_input_ppl) with the output layer at answer positions only, against
the full logits at every position (the runtime's path for a model whose head it cannot split): seconds and
values, task by task, both paths in the same process so that they see the same machine load.

  .venv/bin/python -m eval.bench_likelihood --text 6 --grid 4 --out eval/results/likelihood-gemma3.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="embedded model name or HF folder (default: the default model)")
    ap.add_argument("--text", type=int, default=6, help="held-out text tasks (one per family, in registry order)")
    ap.add_argument("--grid", type=int, default=4, help="held-out grid tasks (one per family)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if args.text < 0 or args.grid < 0 or args.text + args.grid == 0:
        ap.error("--text and --grid: whole numbers >= 0, not both 0")

    import strategies.runtime.decode as decode
    from eval.suites import load_suite
    from policies.features.likelihood import demo_ppl, test_input_ppl
    from strategies.runtime import Runtime

    rt = Runtime.load(args.model)
    tasks = load_suite("heldout", n_per_family=1)
    tasks = [t for t in tasks if t.kind == "text"][:args.text] + [t for t in tasks if t.kind == "grid"][:args.grid]
    split = decode.decoder_and_head
    rows, total = [], {"answer_positions_s": 0.0, "full_logits_s": 0.0}
    try:
        for task in tasks:
            row: dict = {"task": task.name, "kind": task.kind}
            for path, pick in (("full_logits", lambda model: None), ("answer_positions", split)):
                decode.decoder_and_head = pick
                start = time.perf_counter()
                row[path] = {**demo_ppl(task, rt), **test_input_ppl(task, rt)}
                row[f"{path}_s"] = round(time.perf_counter() - start, 2)
                total[f"{path}_s"] += row[f"{path}_s"]
            row["max_abs_diff"] = max(abs(row["full_logits"][k] - row["answer_positions"][k]) for k in row["full_logits"])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        decode.decoder_and_head = split
    out = {"command": " ".join(["python", "-m", "eval.bench_likelihood", *(argv if argv is not None else sys.argv[1:])]),
           "model": rt.model_id, "tasks": len(rows), **{k: round(v, 1) for k, v in total.items()},
           "speedup": round(total["full_logits_s"] / total["answer_positions_s"], 2) if total["answer_positions_s"] else None,
           "max_abs_diff": max((r["max_abs_diff"] for r in rows), default=0.0), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
