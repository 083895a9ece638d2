"""What one decode pass costs: seconds per forward pass of the decoder against tokens fed per row.

  .venv/bin/python -m eval.bench_decode_pass --out eval/results/decode-pass-gemma3.json

A batch of `--rows` rows with `--cached` columns already in the key/value cache is fed `w` tokens per row
(w = 1, 2, 4, 8, 16), then cut back to one kept column, as drafted decoding does (strategies/runtime/speculative.py);
the median of `--reps` passes is reported, with transformers' `DynamicCache` as decoding uses it. A
least-squares line `seconds = fixed + per_token * rows * w` is fitted to the medians: the model behind
eval/RESULTS.md's floor for a grid follow-up.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

from strategies.runtime.kv import cache_kwarg


def pass_seconds(decoder, past, rows: int, cached: int, width: int, reps: int) -> float:
    import torch

    past = copy.deepcopy(past)
    past.activate_past_recording()
    mask = torch.ones(rows, cached, dtype=torch.long)
    times = []
    gen = torch.Generator().manual_seed(width)
    for _ in range(reps):
        ids = torch.randint(100, 1000, (rows, width), generator=gen)
        step_mask = torch.cat([mask, mask.new_ones((rows, width))], 1)
        positions = (torch.arange(width) + mask.shape[1]).expand(rows, width)
        start = time.perf_counter()
        decoder(input_ids=ids, attention_mask=step_mask, position_ids=positions, **cache_kwarg(decoder, past), use_cache=True)
        past.crop(-(width - 1))
        times.append(time.perf_counter() - start)
        mask = torch.cat([mask, mask.new_ones((rows, 1))], 1)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="embedded model name or HF folder (default: the default model); 'tiny' for a plumbing run")
    ap.add_argument("--rows", type=int, default=8, help="batch rows (8: the views of one grid query)")
    ap.add_argument("--cached", type=int, default=600, help="columns already cached per row")
    ap.add_argument("--widths", default="1,2,4,8,16", help="tokens fed per row and pass, comma-separated")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    try:
        widths = [int(w) for w in args.widths.split(",")]
    except ValueError:
        ap.error(f"--widths {args.widths!r}: expected whole numbers separated by commas")
    if min(widths) < 1 or args.rows < 1 or args.cached < 1 or args.reps < 1:
        ap.error("--rows, --cached, --reps and every width must be >= 1")

    import torch
    from transformers import DynamicCache

    from strategies.runtime import Runtime, tiny_runtime
    rt = tiny_runtime() if args.model == "tiny" else Runtime.load(args.model)
    decoder = rt.model.get_decoder()
    out = {"command": " ".join([Path(sys.executable).name, "-m", "eval.bench_decode_pass", *(argv or sys.argv[1:])]),
           "model_id": rt.model_id, "threads": torch.get_num_threads(), "rows": args.rows, "cached": args.cached,
           "reps": args.reps, "passes": []}
    with torch.inference_mode():
        past = DynamicCache(config=rt.model.config)
        ids = torch.randint(100, 1000, (args.rows, args.cached), generator=torch.Generator().manual_seed(0))
        decoder(input_ids=ids, attention_mask=torch.ones_like(ids), **cache_kwarg(decoder, past), use_cache=True,
                position_ids=torch.arange(args.cached).expand(args.rows, args.cached))
        for w in widths:
            row = {"width": w, "tokens": args.rows * w}
            row["dynamic_s"] = round(pass_seconds(decoder, past, args.rows, args.cached, w, args.reps), 4)
            out["passes"].append(row)
            print(f"[bench_decode_pass] width {w}: {row}", file=sys.stderr, flush=True)
    xs = [r["tokens"] for r in out["passes"]]
    ys = [r["dynamic_s"] for r in out["passes"]]
    if len(set(xs)) > 1:
        slope, intercept = statistics.linear_regression(xs, ys)
        out["fit"] = {"fixed_s": round(intercept, 4), "per_token_s": round(slope, 5)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out.get("fit", {})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
