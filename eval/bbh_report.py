"""The BBH results: per task, each strategy's accuracy and seconds per query, the router routed leave one
task out (deciding included), and the per-task oracle; macro averages beside the published 8B figures.

    python -m eval.bbh_report --db sqlite:///runs/bbh-gemma3.db --out eval/results/bbh-gemma3.json \\
        --md runs/bbh-gemma3.md --png runs/bbh-gemma3.png

Writes `{"tasks": {task: {strategy: {"accuracy", "seconds_per_query"}}}, ...}` with the strategies run
plus `routed` (the shipped router's shape, leave-one-task-out), the other router variants
(`routed-free`, `routed-probe`, `routed-ppl`), each at `--budget` (default: half of always-TTT's
seconds per query on the training tasks), and `oracle` (per task, the most accurate strategy, the
cheaper on a tie). Each task is reported on the queries every strategy answered. `apgr` holds each
variant's APGR on the cost axis (deciding counted), `apgr_prior` that of the feature-blind reference
(each strategy's accuracy on the other tasks, the same predicted seconds), which a router has to beat to
show that its features tell tasks apart.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .bbh import DEFAULT_STRATEGIES, SUITE

ROOT = Path(__file__).resolve().parents[1]
# the published figures (Akyürek et al., Llama-3.1-8B, 10 demonstrations; ../shared/data/bbh/README.md)
PAPER_8B = {"zero-shot": 0.409, "icl": 0.505, "ttt": 0.578, "oracle": 0.584}
PAPER_GAINS = {"temporal_sequences": 0.62, "dyck_languages": 0.50, "ruin_names": 0.21, "movie_recommendation": 0.17,
               "hyperbaton": 0.15, "boolean_expressions": -0.056, "penguins_in_a_table": -0.035}
ROUTED = {"cascade": "routed", "free": "routed-free", "probe": "routed-probe", "ppl": "routed-ppl"}


def base_log_files(model_tag: str = "gemma3-adapt") -> list[Path]:
    """The router's own outcome log for a model: the committed synthetic-family logs it is trained on (the
    Makefile's ROUTER_LOG), never a BBH log."""
    data = ROOT / "eval" / "data"
    return sorted([*data.glob(f"outcomes-heldout-*-{model_tag}.jsonl"), *data.glob(f"outcomes-adapt-*-{model_tag}.jsonl")])


def common_rows(rows: Sequence[Mapping[str, Any]], strategies: Sequence[str]) -> list[Mapping[str, Any]]:
    """The rows of `strategies` on the queries every one of them answered (a task with none drops out),
    the latest row where a query was run twice."""
    by: dict[str, dict[str, set[str]]] = {}
    for r in rows:
        by.setdefault(r["family"], {}).setdefault(r["strategy"], set()).add(r["task_hash"])
    common = {t: set.intersection(*(s[x] for x in strategies)) for t, s in by.items() if all(x in s for x in strategies)}
    latest = {(r["task_hash"], r["strategy"]): r for r in sorted(rows, key=lambda r: str(r.get("created_at")))}
    return [r for (h, s), r in latest.items() if s in strategies and h in common.get(r["family"], ())]


def per_task(rows: Sequence[Mapping[str, Any]], strategies: Sequence[str], tasks: Sequence[str]) -> dict[str, dict]:
    """task -> strategy -> accuracy and seconds per query."""
    out: dict[str, dict] = {}
    for t in tasks:
        out[t] = {}
        for s in strategies:
            rs = [r for r in rows if r["family"] == t and r["strategy"] == s]
            out[t][s] = {"accuracy": float(np.mean([bool(r["correct"]) for r in rs])),
                         "seconds_per_query": float(np.mean([float(r["wall_s"]) for r in rs])), "queries": len(rs)}
    return out


def oracle(cells: Mapping[str, Mapping[str, float]], strategies: Sequence[str]) -> dict[str, Any]:
    best = max(strategies, key=lambda s: (cells[s]["accuracy"], -cells[s]["seconds_per_query"]))
    return {**{k: cells[best][k] for k in ("accuracy", "seconds_per_query")}, "strategy": best}


def macro(tasks: Mapping[str, Mapping[str, Mapping[str, Any]]], column: str) -> dict[str, float]:
    cells = [row[column] for row in tasks.values() if column in row]
    return {"accuracy": float(np.mean([c["accuracy"] for c in cells])),
            "seconds_per_query": float(np.mean([c["seconds_per_query"] for c in cells]))}


def apgr_of(routed: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], strategies: Sequence[str],
            tasks: Sequence[str]) -> float | None:
    """RouteLLM's APGR of a variant's leave-one-task-out probabilities on the cost axis, as the router
    benchmark measures it (eval/bench_router.py): `icl` the weak route, the most accurate other strategy
    the strong; budgets in mean seconds per query swept from always-weak's to always-strong's, each
    point's x its mean seconds, deciding included, normalised between the two. (A share of "expensive
    calls" would count `zero-shot`, cheaper than ICL, as expensive, and lump a vote with a training run.)"""
    from policies.crossval import OutOfFold
    from policies.metrics import curve
    from policies.table import pivot

    from .bench_router import SHARES, cost_axis, gap_metrics
    table = pivot([r for r in rows if r["family"] in tasks], strategies=list(strategies), cheap="icl").complete()
    fam = {r["task_hash"]: r["family"] for r in rows}
    if not table.n or any(routed[fam[k]].P is None for k in table.keys):
        return None
    P = np.array([routed[fam[k]].P for k in table.keys])
    C = np.array([routed[fam[k]].C for k in table.keys])
    deciding = float(np.mean([routed[fam[k]].decide_s for k in table.keys]))
    acc, secs = table.correct.mean(0), table.seconds.mean(0)
    weak = table.strategies.index("icl")
    strong = max((j for j in range(len(acc)) if j != weak), key=lambda j: (acc[j], -secs[j]))
    lo, hi = float(secs[weak]), float(secs[strong])
    points = curve(OutOfFold(P, table.strategies), table, seconds=[lo + f * (hi - lo) for f in SHARES], costs=C)
    points = [replace(p, seconds=p.seconds + deciding) for p in points]
    return _f(gap_metrics(cost_axis(points, lo, hi), float(acc[weak]), float(acc[strong]))["apgr"])


def _f(x: Any) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def build(bbh_rows: Sequence[Mapping[str, Any]], base_rows: Sequence[Mapping[str, Any]],
          feature_costs: Mapping[str, Mapping[str, float]], strategies: Sequence[str] = DEFAULT_STRATEGIES,
          budget: str | None = None, say=lambda text: None) -> dict[str, Any]:
    from .bbh_router import BUDGET, leave_one_task_out, prior
    budget = budget or BUDGET
    rows = common_rows(bbh_rows, strategies)
    tasks = sorted({r["family"] for r in rows})
    if len(tasks) < 2:
        raise ValueError(f"{len(tasks)} BBH task(s) with every strategy run ({', '.join(strategies)}); "
                         f"leave-one-task-out needs at least 2")
    table = per_task(rows, strategies, tasks)
    loto = leave_one_task_out(rows, base_rows, feature_costs, strategies, budget=budget, say=say)
    if "cascade" not in loto:
        raise ValueError("the BBH rows lack the shipped router's features (model-free and ttt_probe); "
                         "collect with python -m eval.bbh --features router")
    for variant, column in ROUTED.items():
        if variant not in loto:
            continue
        for t in tasks:
            d = loto[variant][t]
            cell = table[t][d.strategy]
            table[t][column] = {"accuracy": cell["accuracy"], "decide_s": d.decide_s, "strategy": d.strategy,
                                "seconds_per_query": cell["seconds_per_query"] + d.decide_s,
                                "escalated": d.escalated, "budget_s": d.budget_s}
    for t in tasks:
        table[t]["oracle"] = oracle(table[t], strategies)
    columns = [*strategies, *(ROUTED[v] for v in loto), "oracle"]
    out = {"model_id": rows[0]["model_id"], "date": date.today().isoformat(), "strategies": list(strategies),
           "queries_per_task": sorted({table[t][strategies[0]]["queries"] for t in tasks}),
           "tasks": table, "macro": {c: macro(table, c) for c in columns},
           "apgr": {ROUTED[v]: apgr_of(loto[v], rows, strategies, tasks) for v in ("free", "probe", "ppl") if v in loto},
           "apgr_prior": apgr_of(prior(rows, strategies, loto["free"]), rows, strategies, tasks) if "free" in loto else None,
           "paper_8b": PAPER_8B, "budget": budget}
    routed = out["macro"]["routed"]
    out["deciding_share"] = float(np.mean([table[t]["routed"]["decide_s"] for t in tasks]) / routed["seconds_per_query"])
    return out


def markdown(res: Mapping[str, Any]) -> str:
    """The 27-row table (as many rows as tasks reported) with macro averages and the paper's figures."""
    cols = [*res["strategies"], "routed", "oracle"]
    head = "| task | " + " | ".join(cols) + " | routed to |\n|---|" + "---|" * (len(cols) + 1) + "\n"
    body = ""
    for t, row in res["tasks"].items():
        cells = [f"{row[c]['accuracy']:.2f} ({row[c]['seconds_per_query']:.1f} s)" for c in cols]
        body += f"| {t} | " + " | ".join(cells) + f" | {row['routed']['strategy']} |\n"
    m = res["macro"]
    body += "| **macro** | " + " | ".join(f"**{m[c]['accuracy']:.3f}** ({m[c]['seconds_per_query']:.1f} s)" for c in cols) + " | |\n"
    paper = res["paper_8b"]
    body += "| paper, Llama-3.1-8B | " + " | ".join(f"{paper[c]:.3f}" if c in paper else "" for c in cols) + " | |\n"
    if res.get("apgr"):
        gaps = [f"{k} {_n(v)}" for k, v in res["apgr"].items()] + [f"feature-blind reference {_n(res.get('apgr_prior'))}"]
        body += "\nAPGR (cost axis, deciding counted): " + ", ".join(gaps) + "\n"
    return head + body


def _n(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def chart(res: Mapping[str, Any], path: Path) -> None:
    """Per-task bars: ICL, TTT and routed accuracy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks = list(res["tasks"])
    x = np.arange(len(tasks))
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(tasks) + 2), 4))
    for i, (col, label) in enumerate((("icl", "ICL"), ("ttt", "TTT"), ("routed", "routed (leave one task out)"))):
        ax.bar(x + (i - 1) * 0.27, [res["tasks"][t][col]["accuracy"] for t in tasks], 0.27, label=label)
    ax.set_xticks(x, tasks, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"BIG-Bench Hard, {res['model_id']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def load_rows(db: str, base_files: Sequence[Path]) -> tuple[list[dict], list[dict], dict]:
    from policies.outcomes import OutcomeLog, check_exists, costs_path, read_jsonl
    with OutcomeLog(check_exists(db)) as log:
        bbh = [r for r in log.rows() if r.get("suite") == SUITE]
        costs = log.feature_costs.by_task()
    models = {r["model_id"] for r in bbh}
    if len(models) != 1:
        raise ValueError(f"{db}: BBH rows of {len(models)} models {sorted(models)}; one is needed")
    base = [r for p in base_files for r in read_jsonl(p, dict, "an outcome row") if r["model_id"] in models]
    for p in base_files:   # the router log's feature costs: what escalating cost there (the cascade's `pays`)
        if costs_path(p).is_file():
            for c in read_jsonl(costs_path(p), dict, "a feature-cost record"):
                if c["model_id"] in models:
                    costs.setdefault(c["task_hash"], {})[c["feature"]] = float(c["wall_s"])
    return bbh, base, costs


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bbh_report", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the BBH outcome log (python -m eval.bbh --db ...)")
    p.add_argument("--base", nargs="*", type=Path, default=None,
                   help="the router's own outcome logs (default: eval/data/outcomes-*-gemma3-adapt.jsonl)")
    p.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES))
    p.add_argument("--budget", default=None, help="the routers' budget per BBH query: ttt=SHARE of always-TTT's "
                   "seconds per query on the training tasks (default ttt=0.5), or seconds=S")
    p.add_argument("--out", type=Path, required=True, help="results JSON, e.g. eval/results/bbh-gemma3.json")
    p.add_argument("--md", type=Path, default=None, help="also write the table as Markdown")
    p.add_argument("--png", type=Path, default=None, help="also draw the per-task bar chart")
    args = p.parse_args(argv)
    try:
        bbh, base, costs = load_rows(args.db, args.base if args.base is not None else base_log_files())
        res = build(bbh, base, costs, [s.strip() for s in args.strategies.split(",")], budget=args.budget,
                    say=lambda text: print(text, file=sys.stderr, flush=True))
    except (ValueError, OSError) as e:
        print(f"eval.bbh_report: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    res["command"] = "python -m eval.bbh_report " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    if args.md:
        args.md.write_text(markdown(res))
    if args.png:
        chart(res, args.png)
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
