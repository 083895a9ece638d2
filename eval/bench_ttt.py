"""TTT engine speed: our loop vs a transformers.Trainer+peft baseline, training FLOP/s vs matmul peak, adapter cache."""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from eval.trainer_baseline import run_trainer   # the transformers.Trainer + peft baseline

FAMILIES = "flip_h,uppercase,cls2_words_new"
SEED_OFFSET = 7000          # tasks: EVAL_SEED0 + 7000 + i, disjoint from the other benches' seeds
TARGET_RATIO, TARGET_UTIL, TARGET_CACHE = 2.0, 0.30, 10.0


def log(msg: str) -> None:
    print(f"[bench_ttt {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _error(e: BaseException) -> dict:
    return {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=6)[-2000:]}


def matmul_flops(dtype: torch.dtype, n: int, reps: int, budget_s: float) -> dict:
    """FLOP/s of an n x n @ n x n matmul (2n^3 FLOPs) under the current thread count: one warm-up, then
    up to `reps` timed repetitions (at least 2, fewer than `reps` once `budget_s` is spent)."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g).to(dtype), torch.randn(n, n, generator=g).to(dtype)
    torch.matmul(a, b)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < reps and (len(times) < 2 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - t0)
    flops = 2.0 * n ** 3
    return {"dtype": str(dtype).removeprefix("torch."), "n": n, "reps": len(times), "times_s": [round(t, 4) for t in times],
            "best_flops": flops / min(times), "median_flops": flops / statistics.median(times)}


def run_ours(task, rt, cfg, fp0: str) -> dict:
    """The `ttt` strategy itself, cache off: train, answer under views, vote."""
    from strategies.task import score
    from strategies.ttt.adapters import param_fingerprint
    from strategies.ttt.strategy import TTT
    t0 = time.perf_counter()
    r = TTT(cfg.model_copy(update={"cache": False}), name="ttt").run(task, rt)
    wall = time.perf_counter() - t0
    info = r.info
    return {"train_s": info.get("train_s"), "steps": info.get("steps"), "tokens": r.cost.tokens_trained,
            "n_items": info.get("n_items"), "n_val": info.get("n_val"), "stopped_early": info.get("stopped_early"),
            "loss_first": info.get("loss_first"), "loss_last": info.get("loss_last"),
            "wall_s": round(wall, 3), "correct": score(task, r.prediction()), "attempts": r.attempts,
            "base_bit_exact": param_fingerprint(rt.model) == fp0}


def warm_up(task, rt, cfg, fp0: str) -> dict:
    """One untimed step of each loop first, so neither pays the process's one-time costs in its timing."""
    from strategies.ttt.adapters import attached, seeded
    from strategies.ttt.data import ttt_sequences
    from strategies.ttt.strategy import ADAPTER_NAME
    from strategies.ttt.train import train
    t0 = time.perf_counter()
    seqs, _ = ttt_sequences(task, rt, cfg.data.model_copy(update={"n_val": 0}))
    with seeded(0, rt.device), attached(rt, ADAPTER_NAME, cfg.lora) as peft_model:
        train(peft_model, seqs, cfg.train.model_copy(update={"max_steps": 1, "eval_every": 0}), rt.tokenizer.pad_token_id)
    run_trainer(task, rt, cfg, 1, fp0, answer=False)
    return {"wall_s": round(time.perf_counter() - t0, 3)}


def run_cache(task, rt, cfg, fp0: str) -> dict:
    from strategies.task import score
    from strategies.ttt.adapters import cache_key, demos_hash, param_fingerprint, shared_cache
    from strategies.ttt.strategy import TTT
    c = cfg.model_copy(update={"cache": True, "cache_dir": None})
    key = cache_key(demos_hash(task), c.adapter_json(), rt.model_id)
    out: dict[str, Any] = {"task": task.name, "cold_before": key not in shared_cache(None), "runs": []}
    results = []
    for _ in range(2):
        t0 = time.perf_counter()
        r = TTT(c, name="ttt").run(task, rt)
        results.append(r)
        out["runs"].append({"wall_s": round(time.perf_counter() - t0, 3), "cache_hit": r.info["cache_hit"],
                            "train_s": r.info.get("train_s"), "correct": score(task, r.prediction())})
    first, second = out["runs"]
    out.update(first_s=first["wall_s"], second_s=second["wall_s"], second_cache_hit=second["cache_hit"],
               speedup=round(first["wall_s"] / max(second["wall_s"], 1e-9), 2),
               same_answers=results[0].attempts == results[1].attempts,
               base_bit_exact=param_fingerprint(rt.model) == fp0)
    return out


def summarize(res: dict) -> dict:
    done = [t for t in res["tasks"] if "train_s" in t.get("ours", {}) and "train_s" in t.get("baseline", {})
            and t["ours"]["train_s"]]
    s: dict[str, Any] = {"tasks_compared": len(done)}
    if done:
        ours_s = sum(t["ours"]["train_s"] for t in done)
        base_s = sum(t["baseline"]["train_s"] for t in done)
        s.update(ours_train_s=round(ours_s, 3), baseline_train_s=round(base_s, 3),
                 ratio=round(base_s / ours_s, 3),
                 ratio_geomean=round(math.exp(statistics.fmean(math.log(t["ratio"]) for t in done)), 3),
                 ours_correct=sum(bool(t["ours"].get("correct")) for t in done),
                 baseline_correct=sum(bool(t["baseline"].get("correct")) for t in done))
        s["equal_accuracy"] = s["ours_correct"] >= s["baseline_correct"]
        s["target_ratio_met"] = s["ratio"] >= TARGET_RATIO and s["equal_accuracy"]
        n, peak = res["n_params"], res["matmul"]["bf16"]["best_flops"] if "bf16" in res.get("matmul", {}) else None
        for who, toks, secs in (("ours", sum(t["ours"]["tokens"] for t in done), ours_s),
                                ("baseline", sum(t["baseline"]["tokens"] for t in done), base_s)):
            f6 = 6.0 * n * toks / secs
            s[f"{who}_tokens"] = toks
            s[f"{who}_tokens_per_s"] = round(toks / secs, 1)
            s[f"{who}_flops_6n"] = f6
            if peak:
                s[f"{who}_util"] = round(f6 / peak, 4)
        if peak:
            s["target_util_met"] = s["ours_util"] >= TARGET_UTIL
    c = res.get("cache")
    if c and "speedup" in c:
        s["cache_speedup"] = c["speedup"]
        s["target_cache_met"] = c["speedup"] >= TARGET_CACHE and c["second_cache_hit"]
    return s


def _f(x: Any, nd: int = 2) -> str:
    return "—" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def _gf(x: float | None) -> str:
    return "—" if x is None else f"{x / 1e9:.1f} GFLOP/s"


def _ok(x: Any) -> str:
    return {True: "yes", False: "no", None: "n/a"}.get(x, str(x))


def markdown(res: dict) -> str:
    s = res.get("summary", {})
    lines = [f"## TTT speed — `{res['model_id']}` ({res['n_params'] / 1e6:.1f}M params), {res['threads']} thread(s)", "",
             f"Command: `{res['command']}`", "",
             "| task | ours train s | steps | tokens | ours ok | Trainer train s | Trainer ok | Trainer/ours | base bit-exact |",
             "|---|---:|---:|---:|:-:|---:|:-:|---:|:-:|"]
    for t in res["tasks"]:
        o, b = t.get("ours", {}), t.get("baseline", {})
        if "error" in o or "error" in b:
            lines.append(f"| {t['task']} | error: {(o.get('error') or b.get('error'))[:60]} | | | | | | | |")
            continue
        exact = o.get("base_bit_exact") and b.get("base_bit_exact")
        lines.append(f"| {t['task']} | {_f(o.get('train_s'))} | {_f(o.get('steps'))} | {_f(o.get('tokens'))} | "
                     f"{_ok(o.get('correct'))} | {_f(b.get('train_s'))} | {_ok(b.get('correct'))} | "
                     f"{_f(t.get('ratio'))}× | {_ok(exact)} |")
    if s.get("tasks_compared"):
        lines.append(f"| **all** | {_f(s['ours_train_s'])} | | {s['ours_tokens']} | {s['ours_correct']}/{s['tasks_compared']} | "
                     f"{_f(s['baseline_train_s'])} | {s['baseline_correct']}/{s['tasks_compared']} | "
                     f"**{_f(s['ratio'])}×** (geomean {_f(s['ratio_geomean'])}×) | |")
        lines.append(f"\nTarget ≥ {TARGET_RATIO:g}× at equal accuracy: **{'met' if s['target_ratio_met'] else 'not met'}**.")
    m = res.get("matmul", {})
    peak = m.get("bf16", {}).get("best_flops")
    lines += ["", "| FLOP/s | value | % of bf16 matmul peak |", "|---|---:|---:|"]
    for k in ("bf16", "fp32"):
        if k in m:
            lines.append(f"| {k} matmul {m[k]['n']}³ (best of {m[k]['reps']}) | {_gf(m[k]['best_flops'])} | "
                         f"{_f(100 * m[k]['best_flops'] / peak, 1) if peak else '—'}% |")
    for who, label in (("ours", "ours training, 6·N·T/s"), ("baseline", "Trainer training, 6·N·T/s")):
        if f"{who}_flops_6n" in s:
            lines.append(f"| {label} | {_gf(s[f'{who}_flops_6n'])} | {_f(100 * s.get(f'{who}_util', 0), 1)}% |")
    if "target_util_met" in s:
        lines.append(f"\nTarget ours ≥ {TARGET_UTIL:.0%} of bf16 peak: **{'met' if s['target_util_met'] else 'not met'}**.")
    c = res.get("cache")
    if c:
        lines += ["", "| adapter cache | first s | second s | speedup | second cache_hit | same answers |",
                  "|---|---:|---:|---:|:-:|:-:|"]
        if "error" in c:
            lines.append(f"| {c.get('task', '?')} | error: {c['error'][:60]} | | | | |")
        else:
            lines.append(f"| {c['task']} | {_f(c['first_s'])} | {_f(c['second_s'])} | **{_f(c['speedup'], 1)}×** | "
                         f"{_ok(c['second_cache_hit'])} | {_ok(c['same_answers'])} |")
            lines.append(f"\nTarget ≥ {TARGET_CACHE:g}× with a cache hit: **{'met' if s.get('target_cache_met') else 'not met'}**.")
    return "\n".join(lines)


def command_line(argv: list[str]) -> str:
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "TTTC_TORCH_THREADS", "TTTC_THREADS", "TTTC_NO_ADAPTER") if k in os.environ)
    return " ".join(x for x in (env, "python -m eval.bench_ttt", shlex.join(argv)) if x)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None, help="model name or folder (default: the embedded default model); 'tiny': random 2-layer plumbing model")
    ap.add_argument("--families", default=FAMILIES, help="comma-separated families, tasks taken round-robin")
    ap.add_argument("--n", type=int, default=3, help="tasks in all")
    ap.add_argument("--strategy", default="ttt", help="the preset whose TTTConfig both loops use")
    ap.add_argument("--matmul-n", type=int, default=2048, help="matrix size for the peak FLOP/s measurement")
    ap.add_argument("--matmul-reps", type=int, default=5)
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed one-step warm-up of both loops")
    ap.add_argument("--no-cache-check", action="store_true")
    ap.add_argument("--out", default="eval/results/ttt-vs-trainer-gemma3.json")
    args = ap.parse_args(argv)

    import peft
    import transformers
    transformers.logging.set_verbosity_error()
    from eval.suites.families import EVAL_SEED0, sample_tasks
    from strategies.registry import registry
    from strategies.runtime import Runtime, pick_device, tiny_runtime
    from strategies.ttt.adapters import param_fingerprint

    out_path = Path(args.out)

    def save() -> None:
        res["summary"] = summarize(res)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_suffix(out_path.suffix + ".tmp")
        tmp.write_text(json.dumps(res, indent=1, default=str))
        tmp.replace(out_path)

    t_start = time.perf_counter()
    pick_device()   # applies TTTC_TORCH_THREADS (tiny_runtime does not go through it)
    log(f"loading model {args.model or '(default)'}")
    rt = tiny_runtime() if args.model == "tiny" else Runtime.load(args.model)
    cfg = registry().get(args.strategy).config()
    fams = [f.strip() for f in args.families.split(",") if f.strip()]
    seed0 = EVAL_SEED0 + SEED_OFFSET
    tasks = sample_tasks(fams, math.ceil(args.n / len(fams)), seed0)[:args.n]
    fp0 = param_fingerprint(rt.model)
    res: dict[str, Any] = {
        "command": command_line(argv), "model_id": rt.model_id, "n_params": rt.n_params, "device": str(rt.device),
        "n_params_non_embedding": rt.n_params - rt.model.get_input_embeddings().weight.numel(),
        "threads": torch.get_num_threads(), "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                                                        "peft": peft.__version__},
        "strategy": args.strategy, "config": cfg.model_dump(), "families": fams, "seed0": seed0,
        "notes": ["train_s of ours is TTT's info['train_s'] (train() wall incl. its early-stopping evals, rounded to 0.01 s); "
                  "the baseline's is trainer.train() wall (Trainer construction is setup_s, not counted)",
                  "baseline: same sequences, LoRA init seed, AdamW, per-step lr (our warm-up+cosine via optimizers=), "
                  "grad clip and steps as ours; bf16 autocast via TrainingArguments(bf16=True, use_cpu=True); batch size "
                  "= ours' mean sequences per step, rounded; random batches padded to the longest; model's full-vocab loss",
                  "FLOP/s = 6 * n_params * real tokens / train_s (the usual nominal count; LoRA skips the frozen weights' "
                  "gradients and ours skips unlabelled logits, so the work actually done is less than 6N per token)"],
        "tasks": []}
    save()

    log(f"matmul peak, {torch.get_num_threads()} thread(s), n={args.matmul_n}")
    res["matmul"] = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        try:
            res["matmul"][name] = matmul_flops(dtype, args.matmul_n, args.matmul_reps, budget_s=10.0)
            log(f"  {name}: {res['matmul'][name]['best_flops'] / 1e9:.1f} GFLOP/s")
        except Exception as e:
            res["matmul"][name] = _error(e)
    save()

    if tasks and not args.no_warmup:
        log("warm-up: one untimed step of each loop")
        try:
            res["warmup"] = warm_up(tasks[0], rt, cfg, fp0)
        except Exception as e:
            res["warmup"] = _error(e)
            log(f"  warm-up failed: {res['warmup']['error']}")

    for i, task in enumerate(tasks):
        entry: dict[str, Any] = {"task": task.name, "kind": task.kind, "n_demos": len(task.train)}
        res["tasks"].append(entry)
        log(f"[{i + 1}/{len(tasks)}] {task.name}: ours")
        try:
            entry["ours"] = o = run_ours(task, rt, cfg, fp0)
            log(f"  ours: train {o['train_s']} s, {o['steps']} steps, {o['tokens']} tokens, correct={o['correct']}")
        except Exception as e:
            entry["ours"] = _error(e)
            log(f"  ours failed: {entry['ours']['error']}")
        save()
        steps = entry["ours"].get("steps")
        if not steps:
            entry["baseline"] = {"error": "skipped: ours took no steps"}
            continue
        log(f"[{i + 1}/{len(tasks)}] {task.name}: Trainer baseline, {steps} steps")
        try:
            entry["baseline"] = b = run_trainer(task, rt, cfg, steps, fp0)
            if entry["ours"]["train_s"]:
                entry["ratio"] = round(b["train_s"] / entry["ours"]["train_s"], 3)
            log(f"  Trainer: train {b['train_s']} s, {b['tokens']} tokens ({b['tokens_padded']} padded), "
                f"correct={b['correct']}, ratio {entry.get('ratio')}")
        except Exception as e:
            entry["baseline"] = _error(e)
            log(f"  Trainer failed: {entry['baseline']['error']}")
        save()

    if tasks and not args.no_cache_check:
        log(f"adapter cache: {tasks[0].name} twice")
        try:
            res["cache"] = run_cache(tasks[0], rt, cfg, fp0)
            log(f"  first {res['cache']['first_s']} s, second {res['cache']['second_s']} s, "
                f"hit={res['cache']['second_cache_hit']}")
        except Exception as e:
            res["cache"] = {"task": tasks[0].name, **_error(e)}
            log(f"  cache check failed: {res['cache']['error']}")

    res["wall_s"] = round(time.perf_counter() - t_start, 2)
    save()
    print(markdown(res))
    log(f"wrote {out_path} in {res['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
