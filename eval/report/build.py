"""Build a report: read the log, compute tables, curves and calibration, write report.md, report.html and PNGs."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from policies.table import pivot

from . import data
from .calibration import router_reliability
from .curves import Curves, build_curves, headline_point
from .render import Block, Bullets, Code, Heading, Image, Para, TableBlock, to_html, to_markdown

@dataclass(frozen=True)
class Written:
    markdown: Path
    html: Path
    figures: list[Path]
    headline: list[str]


# -- formatting -----------------------------------------------------------------------------------
def acc(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.2f}"


def secs(x: float) -> str:
    return "n/a" if math.isnan(x) else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def pct(x: float | None) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.0f}%"


# -- the router -----------------------------------------------------------------------------------
def find_router(where: str | Path | None, model_id: str | None = None) -> tuple[Any, Any, str, set[str]]:
    """(router, cost model or None, a note, the task hashes it was trained on when its manifest says) from a
    router JSON file or a bundle folder as `tttc train-router` writes it (default: the bundle `route()`
    uses for `model_id`: $TTTC_ROUTER_DIR, that model's folder under policies/shipped/by-model/, or
    policies/shipped/)."""
    from policies.bundle import COST_FILE, MANIFEST_FILE, ROUTER_FILE, bundle_dir, load_bundle
    from policies.store import ModelFileError, load_cost_model, load_router
    if where is None:
        shipped = bundle_dir(model_id)
        try:
            bundle = load_bundle(shipped)
        except ModelFileError:
            bundle = None
        if bundle is None:
            return (None, None, "No learned router was given (--router DIR) and none is shipped in policies/shipped/ "
                                "(`tttc train-router` puts one there), so only baselines are drawn.", set())
        return bundle.router, bundle.cost_model, f"Shipped router ({shipped}/).{_cascade_note(bundle)}", \
            _trained_on(bundle)
    where = Path(where)
    if not where.exists():
        raise data.ReportError(f"--router {where}: no such file or folder")
    if where.is_dir() and not (where / ROUTER_FILE).exists():
        raise data.ReportError(f"--router {where}: no {ROUTER_FILE} there (a folder written by `tttc train-router`)")
    try:
        if where.is_file():
            return load_router(where), None, f"Learned router: {where}.", set()
        trained_on: set[str] = set()
        if (where / MANIFEST_FILE).exists():   # a whole bundle: its files are checked against each other
            bundle = load_bundle(where)
            router, cost, trained_on = bundle.router, bundle.cost_model, _trained_on(bundle)
            return router, cost, f"Learned router from {where}/.{_cascade_note(bundle)}", trained_on
        else:                                  # a bare router, with or without its cost model
            router = load_router(where / ROUTER_FILE)
            cost = load_cost_model(where / COST_FILE) if (where / COST_FILE).exists() else None
    except ModelFileError as e:
        raise data.ReportError(f"--router {e}") from None
    return router, cost, f"Learned router from {where}/.", trained_on


def _cascade_note(bundle: Any) -> str:
    if not bundle.cascade:
        return ""
    how = " where that pays at its budget" if bundle.cascade.get("escalate") == "pays" else ""
    return (f" It is a two-stage cascade: the curves and calibration are its full router's; when serving, a "
            f"stage-1 router on model-free features decides alone unless unsure (about "
            f"{bundle.cascade['rate']:.0%} of queries escalate{how}).")


def _trained_on(bundle: Any) -> set[str]:
    report = bundle.manifest.get("report")
    return {str(h) for h in report.get("trained_on", [])} if isinstance(report, dict) else set()


def in_sample_line(trained_on: set[str], keys: Sequence[str]) -> str | None:
    """A warning for the headline when the router was trained on queries of this log."""
    seen = sum(k in trained_on for k in keys)
    if not seen:
        return None
    return (f"**In-sample:** the router was trained on {seen} of these {len(keys)} queries, so its curve here is "
            "optimistic; for figures on families it never saw, run `python -m eval.bench_router` (cross-validated "
            "by family).")


# -- sections -------------------------------------------------------------------------------------
def strategy_section(stats: Sequence[data.StrategyStats], routed: data.StrategyStats | None) -> list[Block]:
    header = ["strategy", "runs", "accuracy", "mean s", "p90 s", "tokens trained", "routed share"]
    rows = [[s.name, str(s.runs), acc(s.accuracy) + ("" if s.scored == s.runs else f" ({s.scored} scored)"),
             secs(s.mean_s), secs(s.p90_s), f"{s.tokens_trained:,.0f}", pct(s.routed_share)] for s in stats]
    if routed is not None:
        rows.append([routed.name, str(routed.runs), acc(routed.accuracy), secs(routed.mean_s),
                     secs(routed.p90_s), f"{routed.tokens_trained:,.0f}", "100%"])
    n_routed = routed.runs if routed else 0
    cap = ("Accuracy over runs with feedback; seconds and tokens trained per run. Routed share: of the "
           f"{n_routed} runs whose strategy the router chose" if n_routed else
           "Accuracy over runs with feedback; seconds and tokens trained per run. Routed share is n/a: the router "
           "chose none of these runs (a collection run or a user's choice)")
    return [Heading("Strategies"), TableBlock(header, rows, cap + ".")]


def group_section(rows: Sequence[dict], order: Sequence[str]) -> list[Block]:
    by = data.grouping(rows)
    groups = data.group_stats(rows, by, order)
    header = [by, "tasks"] + list(order) + ["best"]
    body = []
    for g, per in groups.items():
        tasks = len({r["task_hash"] for r in rows if data.group_of(r, by) == g})
        cells = [f"{acc(per[s].accuracy)} · {secs(per[s].mean_s)} s ({per[s].runs})" if s in per else "–" for s in order]
        scored = [s for s in per if not math.isnan(per[s].accuracy)]
        best = max(scored, key=lambda s: (per[s].accuracy, -per[s].mean_s)) if scored else "n/a"
        body.append([g, str(tasks)] + cells + [best])
    return [Heading(f"By {by}"), TableBlock(header, body, "Each cell: accuracy · mean seconds (runs). "
                                                         "Best: the most accurate strategy there, ties to the cheaper.")]


def curve_section(c: Curves) -> list[Block]:
    out: list[Block] = [Heading("Accuracy vs cost")]
    if c.table is None:
        return out + [Para(n) for n in c.notes]
    from .figures import curve_png
    out.append(Image("curve.png", curve_png(c), "accuracy vs mean seconds per query"))
    header = ["router", "APGR", "CPT(50%)", "CPT(80%)", "accuracy", "mean s"]
    rows = []
    for s in c.series:
        best = max(s.points, key=lambda p: (p.accuracy, -p.seconds))
        rows.append([s.name, acc(s.apgr) if s.swept else "–", pct(s.cpt50) if s.swept else "–",
                     pct(s.cpt80) if s.swept else "–", acc(best.accuracy), secs(best.seconds)])
    out.append(TableBlock(header, rows, f"APGR and CPT between always-{c.weak} ({acc(c.weak_acc)}) and the best "
                                        f"always-TTT, always-{c.strong} ({acc(c.strong_acc)}); CPT(x) is the share "
                                        f"of queries sent past {c.weak} to recover x of the gap (RouteLLM's x-axis: "
                                        f"a share of calls, not seconds). Accuracy and mean s: "
                                        f"a swept router's most accurate budget."))
    return out + ([Bullets(c.notes)] if c.notes else [])


def confusion_table(title: str, counts: Any, order: Sequence[str], caption: str) -> list[Block]:
    chosen = [s for s in order if any(k[0] == s for k in counts)]
    cols = list(order) + [data.NONE_RIGHT]
    rows = [[s] + [str(counts.get((s, t), 0)) for t in cols] + [str(sum(counts.get((s, t), 0) for t in cols))]
            for s in chosen]
    return [Heading(title, 3), TableBlock(["chosen \\ cheapest right"] + cols + ["total"], rows, caption)]


def confusion_section(rows: Sequence[dict], full, c: Curves, order: Sequence[str]) -> list[Block]:
    out: list[Block] = [Heading("Routing confusion")]
    logged = data.logged_choices(rows)
    if logged:
        ran = [int(np.sum(~np.isnan(full.correct[full.keys.index(k)]))) for k in logged if k in full.keys]
        alone = sum(1 for n in ran if n < len(full.strategies))
        out += confusion_table("As routed (the router's logged decisions)", data.confusion(logged, full), order,
                               "Rows: the strategy the router chose; columns: the cheapest strategy that was right on "
                               f"that task, among the strategies run on it (none: none was right). {alone} of "
                               f"{len(ran)} routed tasks were not run under every strategy.")
    if c.learned_choices:
        out += confusion_table("Learned router (its own cost trade-off, no budget)",
                               data.confusion(c.learned_choices, c.table), order,
                               "On the queries every strategy ran. Off the diagonal: a costlier column than the "
                               "row overspent; 'none' or a cheaper row underspent only if the chosen one was wrong.")
    if len(out) == 1:
        out.append(Para("No routing decisions to show: no row was routed by the router and no learned router was given."))
    return out


def calibration_section(router: Any, full) -> list[Block]:
    out: list[Block] = [Heading("Router calibration")]
    if router is None:
        return out + [Para("No learned router, so no P(correct) to calibrate.")]
    rel = router_reliability(router, full)
    if not rel:
        return out + [Para("The router's strategies have no scored runs in this log.")]
    from .figures import calibration_png
    out.append(Image("calibration.png", calibration_png(rel), "reliability diagram of the router's P(correct)"))
    out.append(TableBlock(["strategy", "queries", "ECE", "Brier"],
                          [[r.strategy, str(r.n), f"{r.ece:.3f}", f"{r.brier:.3f}"] for r in rel],
                          "ECE: count-weighted gap between predicted and observed accuracy over 10 bins."))
    return out


def headline(stats: Sequence[data.StrategyStats], routed: data.StrategyStats | None, c: Curves) -> list[str]:
    scored = [s for s in stats if not math.isnan(s.accuracy)]
    if scored:
        best = max(scored, key=lambda s: (s.accuracy, -s.mean_s))
        others = ", ".join(f"{s.name} {acc(s.accuracy)} at {secs(s.mean_s)} s" for s in scored if s is not best)
        lines = [f"**Best strategy:** `{best.name}`, accuracy {acc(best.accuracy)} at {secs(best.mean_s)} s per query"
                 + (f" ({others})." if others else ".")]
    else:
        lines = ["**Best strategy:** n/a: no run has feedback (correct is unknown everywhere)."]
    learned = c.get("learned router")
    strong = c.get(f"always-{c.strong}") if c.strong else None
    if learned is not None and strong is not None:
        p, s = headline_point(learned, c.strong_acc), strong.points[0]
        lines.append(f"**Router vs `{c.strong}`:** accuracy {acc(p.accuracy)} vs {acc(s.accuracy)} at "
                     f"{pct(p.seconds / s.seconds) if s.seconds else 'n/a'} of its time ({secs(p.seconds)} s vs "
                     f"{secs(s.seconds)} s per query; the cheapest budget within 95% of its accuracy).")
    elif routed is not None:
        why_no_sweep = ("no learned router given to sweep" if learned is None and c.table is not None else
                        "a sweep over budgets needs queries run under every strategy")
        ref = next((x for x in stats if x.name == c.strong), None) if c.strong else None
        tail = (f" vs `{ref.name}` {acc(ref.accuracy)} at {secs(ref.mean_s)} s" if ref else "")
        lines.append(f"**Router as logged:** accuracy {acc(routed.accuracy)} at {secs(routed.mean_s)} s per query "
                     f"over {routed.runs} routed runs{tail} ({why_no_sweep}).")
    else:
        lines.append("**Router:** none given (--router DIR) and no routed runs logged.")
    if learned is not None and not math.isnan(learned.apgr):
        lines.append(f"**APGR {learned.apgr:.2f}** (learned router, always-{c.weak} → always-{c.strong}; "
                     f"CPT(50%) {pct(learned.cpt50)}, CPT(80%) {pct(learned.cpt80)}).")
    elif c.table is None:
        lines.append("**APGR:** n/a: " + c.notes[0])
    elif c.weak_acc == c.strong_acc:
        lines.append(f"**APGR:** n/a: always-{c.weak} and always-{c.strong} are equally accurate "
                     f"({acc(c.weak_acc)}) on the {c.table.n} queries both ran, so there is no gap to recover.")
    else:
        lines.append(f"**APGR:** n/a without a learned router (always-{c.weak} → always-{c.strong}: oracle "
                     f"{c.get('oracle').apgr:.2f}, random {c.get('random').apgr:.2f}).")
    return lines


# -- the whole report -----------------------------------------------------------------------------
def build_report(db: str, out: str | Path, suite: str | None = None, router: str | Path | None = None,
                 model_id: str | None = None, command: str = "") -> Written:
    rows = data.load_rows(db, suite=suite, model_id=model_id)
    order = data.order_strategies(rows)
    stats, routed = data.strategy_stats(rows, order), data.as_routed(rows)
    full = pivot(rows, strategies=order, cheap=order[0])
    model, cost_model, note, trained_on = find_router(router, rows[0]["model_id"] if rows else None)
    costs = None
    if model is not None and cost_model is not None:
        feats = [dict(zip(full.feature_names, x)) for x in full.X]
        try:
            costs = cost_model.predict_matrix(feats, full.strategies)
        except KeyError:
            note += " Its cost model does not know every strategy here, so routers see median seconds."
    c = build_curves(full, [s for s in order if data.is_training(s)], model, costs, note)
    lines = headline(stats, routed, c)
    warning = in_sample_line(trained_on, full.keys) if model is not None else None
    lines += [warning] if warning else []
    stamp = datetime.now().astimezone()
    when = sorted(r["created_at"] for r in rows)
    blocks: list[Block] = [Heading("Routing report" + (f": suite {suite}" if suite else ""), 1),
                           *[Para(line) for line in lines],
                           Para(f"{len(full.keys)} queries ({len(rows)} runs, {len(order)} strategies) of model "
                                f"`{rows[0]['model_id']}`, logged {when[0]:%Y-%m-%d %H:%M} to {when[-1]:%Y-%m-%d %H:%M} UTC; "
                                f"report made {stamp:%Y-%m-%d %H:%M %Z} by:"),
                           Code(command or f"tttc report --db {db} --out {out}")]
    blocks += strategy_section(stats, routed)
    blocks += group_section(rows, order)
    blocks += curve_section(c)
    blocks += confusion_section(rows, full, c, order)
    blocks += calibration_section(model, full)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for b in blocks:
        if isinstance(b, Image):
            (out / b.file).write_bytes(b.png)
            figures.append(out / b.file)
    md, page = out / "report.md", out / "report.html"
    md.write_text(to_markdown(blocks))
    page.write_text(to_html(blocks, "Routing report"))
    return Written(md, page, figures, lines)
