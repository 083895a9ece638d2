"""Our greedy decoder against transformers' greedy `generate` on the same prompts: answers and seconds.

  .venv/bin/python -m eval.bench_decode --model gemma3-270m --kind grid --out eval/results/decode_gemma_grid.json

For each family (of the kind asked), `--n` fresh tasks are answered by plain ICL as one batch, twice:
through `model.generate` with the stopping rule the runtime used before (a reference kept here), and
through `Runtime._greedy` (strategies/decode.py: grid answers restricted to digit/newline tokens, finished
rows leaving the batch). Reported: how many answers are the same text (transformers pads finished rows
with the pad token; those pads are ignored), and the seconds of each path, interleaved family by family
so that both see the same machine load.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def reference(rt, ids, mask, caps, kind) -> list[str]:
    """The runtime's generation before strategies/decode.py: transformers' greedy generate."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    from strategies.serialize import is_complete
    tok, width = rt.tokenizer, ids.shape[1]
    row_caps = torch.tensor(caps)

    class _Stop(StoppingCriteria):
        def __call__(self, input_ids, scores, **kw):
            new = input_ids[:, width:]
            done = torch.tensor([is_complete(tok.decode(r), kind) for r in new])
            return done | (new.shape[1] >= row_caps)

    out = rt.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=int(row_caps.max()), do_sample=False,
                            stopping_criteria=StoppingCriteriaList([_Stop()]), pad_token_id=tok.pad_token_id)
    pad = tok.decode([tok.pad_token_id])
    return [tok.decode(out[j, width:].tolist()[:c]).replace(pad, "") for j, c in enumerate(caps)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="embedded model name, HF folder or 'tiny' (random plumbing model); default: the default model")
    ap.add_argument("--kind", choices=["grid", "text"], default="grid")
    ap.add_argument("--families", default=None, help="comma-separated families (default: every family of --kind)")
    ap.add_argument("--n", type=int, default=2, help="tasks per family, answered as one batch")
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    import torch

    from strategies.caps import answer_cap
    from strategies.families import families, make_task
    from strategies.runtime import Runtime, tiny_runtime
    from strategies.serialize import render

    rt = tiny_runtime() if args.model == "tiny" else Runtime.load(args.model)
    names = args.families.split(",") if args.families else [f.name for f in families() if f.kind == args.kind]
    known = {f.name: f.kind for f in families()}
    bad = [n for n in names if known.get(n) != args.kind]
    if bad:
        ap.error(f"not {args.kind} families: {bad}")
    rows, same, total, t_ref, t_ours = [], 0, 0, 0.0, 0.0
    rt.grid_token_ids()   # the one-off vocabulary scan is not part of any answer's time
    for name in names:
        tasks = [make_task(name, args.seed + s) for s in range(args.n)]
        prompts = [render([(e.input, e.output) for e in t.train], t.test[0].input, t.kind).prompt for t in tasks]
        caps = [answer_cap(t, t.test[0].input, rt) for t in tasks]
        ids, mask = rt._batch([rt.encode(p) for p in prompts], left=True)
        with torch.inference_mode():
            a = time.perf_counter()
            ref = reference(rt, ids, mask, caps, args.kind)
            b = time.perf_counter()
            ours = [rt.tokenizer.decode(t) for t in rt._greedy(ids, mask, caps, args.kind)[0]]
            c = time.perf_counter()
        match = sum(x == y for x, y in zip(ref, ours))
        same, total, t_ref, t_ours = same + match, total + len(ref), t_ref + b - a, t_ours + c - b
        rows.append({"family": name, "same": match, "of": len(ref), "transformers_s": round(b - a, 2),
                     "ours_s": round(c - b, 2)})
        print(f"{name:24s} same {match}/{len(ref)}  transformers {b - a:6.1f} s  ours {c - b:6.1f} s",
              file=sys.stderr, flush=True)
    out = {"command": " ".join(["python", "-m", "eval.bench_decode", *(argv if argv is not None else sys.argv[1:])]),
           "model": rt.model_id, "kind": args.kind, "threads": torch.get_num_threads(), "same": same, "answers": total,
           "transformers_s": round(t_ref, 1), "ours_s": round(t_ours, 1),
           "speedup": round(t_ref / t_ours, 2) if t_ours else None, "families": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "families"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
