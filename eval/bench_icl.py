"""ICL accuracy per synthetic family (adapt vs held-out) and on ARC-AGI-1 training tasks, plus per-task latency.

  .venv/bin/python -m eval.bench_icl --n 30 --out eval/results/icl-smollm2-adapt-n30.json
  TTTC_NO_ADAPTER=1 .venv/bin/python -m eval.bench_icl --n 30 --out eval/results/icl-smollm2-no-adapter-n30.json

Accuracy runs batch prompts across tasks (the same greedy prompts and caps as the `icl` strategy) for
throughput; latency is measured separately, one task at a time through the `icl` strategy itself.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def icl_batch(tasks, runtime, batch_size: int = 8) -> list[bool]:
    """Greedy ICL on many tasks at once (first test input each); exact match per task."""
    from strategies.runtime.caps import answer_cap
    from strategies.icl import ICLConfig, fit_demos
    from strategies.serialize import parse_answer, render
    correct = []
    for kind in ("grid", "text"):
        group = [t for t in tasks if t.kind == kind]
        if not group:
            continue
        prompts = [render(fit_demos(t, t.test[0].input, runtime, ICLConfig().max_prompt_tokens), t.test[0].input, kind).prompt
                   for t in group]
        caps = [answer_cap(t, t.test[0].input, runtime) for t in group]
        gen = runtime.generate(prompts, kind, caps, batch_size=batch_size)
        for t, text in zip(group, gen.texts):
            correct.append((t.name, parse_answer(text, kind) == t.test[0].output))
    order = {t.name: i for i, t in enumerate(tasks)}
    return [c for _, c in sorted(correct, key=lambda x: order[x[0]])]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30, help="fresh tasks per family (0: skip the family table)")
    ap.add_argument("--arc", type=int, default=60, help="ARC-AGI-1 training tasks that fit (0 to skip)")
    ap.add_argument("--latency", type=int, default=20, help="tasks timed one at a time through the icl strategy")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    from eval.suites import load_suite
    from eval.suites.families import EVAL_SEED0, families, sample_tasks
    from strategies.icl import ICL
    from strategies.runtime import Runtime
    from strategies.task import score

    rt = Runtime.load(args.model)
    out = {"model_id": rt.model_id, "n_per_family": args.n, "families": {}, "command": " ".join(sys.argv)}
    t0 = time.perf_counter()
    for split in ("adapt", "heldout") if args.n else ():
        for fam in families(split=split):
            tasks = sample_tasks([fam.name], args.n, EVAL_SEED0)
            ok = icl_batch(tasks, rt)
            out["families"][fam.name] = {"split": split, "kind": fam.kind, "tags": list(fam.tags),
                                         "acc": sum(ok) / len(ok), "n": len(ok)}
            print(f"{split:8} {fam.name:24} {sum(ok):3}/{len(ok)}  ({time.perf_counter() - t0:.0f}s)", file=sys.stderr, flush=True)
    for split in ("adapt", "heldout") if args.n else ():
        accs = [f["acc"] for f in out["families"].values() if f["split"] == split]
        out[f"{split}_mean_acc"] = sum(accs) / len(accs)
    if args.arc:
        arc = load_suite("arc1-train")[: args.arc]
        ok = icl_batch(arc, rt, batch_size=4)
        out["arc1_train"] = {"acc": sum(ok) / len(ok), "n": len(ok), "correct": sum(ok)}
        print(f"arc1-train {sum(ok)}/{len(ok)}", file=sys.stderr)
    if args.latency:
        tasks = sample_tasks([f.name for f in families()], 1, EVAL_SEED0 + 5000)[: args.latency]
        secs, icl = [], ICL()
        for t in tasks:
            r = icl.run(t, rt)
            secs.append(r.cost.wall_s)
            score(t, r.prediction())
        out["latency_s"] = {"median": statistics.median(secs), "p90": sorted(secs)[int(0.9 * (len(secs) - 1))],
                            "n": len(secs)}
    out["wall_s"] = time.perf_counter() - t0
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "families"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
