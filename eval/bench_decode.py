"""Our greedy decoder against transformers' greedy `generate` on the same prompts: answers and seconds.

  .venv/bin/python -m eval.bench_decode --model gemma3-270m --kind grid --out eval/results/decode-restricted-grid-gemma3.json

For each family (of the kind asked), `--n` fresh tasks are answered by plain ICL as one batch, twice:
through `model.generate` with the stopping rule the runtime used before (a reference kept here), and
through `Runtime._greedy` (strategies/runtime/decode.py: grid answers restricted to digit/newline tokens, finished
rows leaving the batch). Reported: how many answers are the same text (transformers pads finished rows
with the pad token; those pads are ignored), and the seconds of each path, interleaved family by family
so that both see the same machine load.

With `--draft-width W` a third path decodes the same batches with drafts checked W tokens at a time
(strategies/runtime/speculative.py) and is compared with our plain path: identical answers, and seconds;
`--skip-reference` leaves transformers out.

With `--bf16` a fourth path decodes the same batches with the weights in bf16 (what `TTTC_INFER_DTYPE=bfloat16`
does, strategies/runtime/precision.py), drafts as `--draft-width` says, and is compared with our plain fp32 path:
identical answers, exact-match accuracy of both (the tasks' test outputs), and seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def reference(rt, ids, mask, caps, kind) -> list[str]:
    """The runtime's generation before strategies/runtime/decode.py: transformers' greedy generate."""
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
    ap.add_argument("--draft-width", type=int, default=1,
                    help="also decode with drafts checked this many tokens at a time (1: no drafted path)")
    ap.add_argument("--skip-reference", action="store_true", help="do not run transformers' generate")
    ap.add_argument("--bf16", action="store_true", help="also decode with the weights in bf16 and score both")
    args = ap.parse_args(argv)
    if args.draft_width < 1:
        ap.error(f"--draft-width {args.draft_width}: expected >= 1")

    import torch

    from strategies.runtime.caps import answer_cap
    from eval.suites.families import families, make_task
    from strategies.runtime import Runtime, tiny_runtime
    from strategies.serialize import parse_answer, render

    rt = tiny_runtime() if args.model == "tiny" else Runtime.load(args.model)
    names = args.families.split(",") if args.families else [f.name for f in families() if f.kind == args.kind]
    known = {f.name: f.kind for f in families()}
    bad = [n for n in names if known.get(n) != args.kind]
    if bad:
        ap.error(f"not {args.kind} families: {bad}")
    rows, same, same_d, total, t_ref, t_ours, t_draft = [], 0, 0, 0, 0.0, 0.0, 0.0
    same_b, t_bf16, right, right_b = 0, 0.0, 0, 0
    rt.grid_token_ids()   # the one-off vocabulary scan is not part of any answer's time

    def ours(width: int) -> tuple[list[str], float]:
        rt.draft_width = width
        start = time.perf_counter()
        texts = [rt.tokenizer.decode(t) for t in rt._greedy(ids, mask, caps, args.kind)[0]]
        return texts, time.perf_counter() - start
    for name in names:
        tasks = [make_task(name, args.seed + s) for s in range(args.n)]
        prompts = [render([(e.input, e.output) for e in t.train], t.test[0].input, t.kind).prompt for t in tasks]
        caps = [answer_cap(t, t.test[0].input, rt) for t in tasks]
        ids, mask = rt._batch([rt.encode(p) for p in prompts], left=True)
        row = {"family": name, "of": len(tasks)}
        with torch.inference_mode():
            plain, dt = ours(1)
            t_ours += dt
            row["ours_s"] = round(dt, 2)
            if not args.skip_reference:
                start = time.perf_counter()
                ref = reference(rt, ids, mask, caps, args.kind)
                dt = time.perf_counter() - start
                match = sum(x == y for x, y in zip(ref, plain))
                same, t_ref = same + match, t_ref + dt
                row.update(same=match, transformers_s=round(dt, 2))
            if args.draft_width > 1:
                drafted, dt = ours(args.draft_width)
                match = sum(x == y for x, y in zip(plain, drafted))
                same_d, t_draft = same_d + match, t_draft + dt
                row.update(same_drafted=match, drafted_s=round(dt, 2))
            if args.bf16:
                with rt.generation_precision(torch.bfloat16):
                    low, dt = ours(args.draft_width)
                match = sum(x == y for x, y in zip(plain, low))
                hits = [sum(parse_answer(x, t.kind) == t.test[0].output for x, t in zip(texts, tasks))
                        for texts in (plain, low)]
                same_b, t_bf16, right, right_b = same_b + match, t_bf16 + dt, right + hits[0], right_b + hits[1]
                row.update(same_bf16=match, correct_fp32=hits[0], correct_bf16=hits[1], bf16_s=round(dt, 2))
        total += len(tasks)
        rows.append(row)
        print("  ".join(f"{k} {v}" for k, v in row.items()), file=sys.stderr, flush=True)
    out = {"command": " ".join(["python", "-m", "eval.bench_decode", *(argv if argv is not None else sys.argv[1:])]),
           "model": rt.model_id, "kind": args.kind, "threads": torch.get_num_threads(), "answers": total,
           "ours_s": round(t_ours, 1)}
    if not args.skip_reference:
        out.update(same=same, transformers_s=round(t_ref, 1), speedup=round(t_ref / t_ours, 2) if t_ours else None)
    if args.draft_width > 1:
        out.update(draft_width=args.draft_width, same_drafted=same_d, drafted_s=round(t_draft, 1),
                   drafted_speedup=round(t_ours / t_draft, 2) if t_draft else None)
    if args.bf16:
        out.update(same_bf16=same_b, correct_fp32=right, correct_bf16=right_b, bf16_s=round(t_bf16, 1),
                   bf16_speedup=round(t_ours / t_bf16, 2) if t_bf16 else None)
    out["families"] = rows
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "families"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
