"""The Markdown tables of eval/bench_router.py's results (`--md`), for eval/RESULTS.md."""
from __future__ import annotations

from typing import Any

from eval.bench_router import TARGET_ACC, TARGET_APGR, TARGET_TIME


def _n(x: Any, fmt: str = ".3f") -> str:
    return "n/a" if x is None else format(x, fmt)


def markdown(res: dict[str, Any], command: str) -> str:
    t, esc = res["targets"], res.get("escalation")
    names = list(res["curves"])
    lines = [f"Router benchmark: {res['tasks']} tasks, {res['families']} families, model {res.get('model_id', '?')}, "
             f"{res['folds']}-fold cross-validation grouped by family (every task routed by models that never "
             "saw its family).", "", f"```sh\n{command}\n```", "",
             "| route | accuracy | mean s |", "|---|---|---|"]
    lines += [f"| always {s} | {_n(a['accuracy'])} | {_n(a['seconds'], '.1f')} |" for s, a in res["always"].items()]
    lines += ["", f"Accuracy / mean wall seconds per budget (target mean seconds, from always-{res['weak']} to "
              f"always-{res['strong']}; the baselines' expensive route is {res['strong']}):", "",
              "| budget s | " + " | ".join(names) + (" | cascade escalated / featurizing s" if esc else "") + " |",
              "|---" * (len(names) + 1 + bool(esc)) + "|"]
    for i, b in enumerate(res["budgets_s"]):
        cells = []
        for n in names:
            p = next((p for p in res["curves"][n] if p["budget"] == b), None)
            cells.append("" if p is None else f"{p['accuracy']:.3f} / {p['seconds']:.1f}")
        if esc:
            e = esc["per_budget"][i]
            cells.append(f"{e['escalated']:.3f} / {e['featurizing_s']:.2f}")
        lines.append(f"| {b:.1f} | " + " | ".join(cells) + " |")
    f = res["featurizing_s"]
    lines += ["", "Curves count the strategies' seconds only. Featurizing before routing costs, per query: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in f.items())
              + (f" (the cascade's stage 1; its escalations add {', '.join(esc['features'])} for the queries they "
                 "escalate, per budget in the last column)" if esc else "")
              + " (counted in the time target; when the router picks ICL, the ICL probe's answer can be reused)."]
    lines += _at_budget(res.get("at_budget"))
    lines += ["", f"APGR and CPT between always-{res['weak']} and always-{res['strong']}; x is the normalised "
              "mean seconds (cost) or RouteLLM's share of calls past the cheap route (share):", "",
              "| router | APGR cost | CPT(50%) cost | CPT(80%) cost | APGR share | CPT(50%) share | CPT(80%) share "
              "| APGR cost, featurizing included |",
              "|---|---|---|---|---|---|---|---|"]
    for n, m in res["summary"].items():
        c, sh, tot = m["cost_axis"], m["share_axis"], m.get("total_cost_axis", {})
        lines.append(f"| {n} | {_n(c['apgr'])} | {_n(c['cpt50'])} | {_n(c['cpt80'])} | "
                     f"{_n(sh['apgr'])} | {_n(sh['cpt50'])} | {_n(sh['cpt80'])} | {_n(tot.get('apgr'))} |")
    best = t["accuracy_at_time"]["best"]
    best_text = "none" if best is None else (f"{best['accuracy']:.3f} at {best['seconds']:.1f} s of strategies + "
                                             f"{_n(t['accuracy_at_time']['featurizing_s'], '.1f')} s featurizing")
    margin = ", ".join(f"{k} {_n(v, '+.3f')}" for k, v in t["above_single_feature"]["min_margin"].items())
    lines += ["", "| target | result | measured |", "|---|---|---|",
              f"| {t['accuracy_at_time'].get('router', 'router')}: accuracy >= {TARGET_ACC:.0%} of {res['strong']} "
              f"at <= {TARGET_TIME:.0%} of its time | "
              f"{'PASS' if t['accuracy_at_time']['pass'] else 'FAIL'} | best within "
              f"{_n(t['accuracy_at_time']['limit_seconds'], '.1f')} s: {best_text} "
              f"(need {_n(t['accuracy_at_time']['need_accuracy'])}) |",
              f"| {t['accuracy_at_time'].get('router', 'router')}: APGR (cost) >= {TARGET_APGR} | "
              f"{'PASS' if t['apgr']['pass'] else 'FAIL'} | {_n(t['apgr']['value'])} |",
              f"| at or above both single-feature routers at every inner budget | "
              f"{'PASS' if t['above_single_feature']['pass'] else 'FAIL'} | min margin {margin or 'n/a'}"
              + (f"; {t['above_single_feature']['note']}" if t["above_single_feature"]["note"] else "") + " |"]
    if res["ablation"]:
        lines += ["", "Feature ablation (router refitted without the group, same folds; cost per query as "
                  "`tttc collect` metered it; first_token_entropy reads the ICL probe that self_consistency pays for):", "",
                  "| feature group dropped | APGR cost | change | feature s/query |", "|---|---|---|---|"]
        lines += [f"| {a['dropped']} | {_n(a.get('apgr'))} | {_n(a.get('apgr_change'), '+.3f')} | "
                  f"{_n(a['cost_s_per_query'], '.2f')} |" for a in res["ablation"]]
    return "\n".join(lines)


def _at_budget(at: dict[str, Any] | None) -> list[str]:
    """The learned routers at the one budget asked for (--budget), featurizing counted."""
    if not at:
        return []
    b = at["budget"]
    knob = f"seconds={b['seconds']:g}" if b["seconds"] is not None else f"share={b['share']:g}"
    lines = ["", f"At the budget {knob}, featurizing counted:", "",
             "| router | accuracy | strategy s | featurizing s | total s | featurizing share | escalated |",
             "|---|---|---|---|---|---|---|"]
    for name in ("router", "cascade"):
        if name in at:
            p = at[name]
            lines.append(f"| {name} | {_n(p['accuracy'])} | {_n(p['seconds'], '.2f')} | "
                         f"{_n(p['featurizing_s'], '.2f')} | {_n(p['total_s'], '.2f')} | {_n(p['featurizing_share'], '.1%')} | "
                         f"{_n(p['escalated'], '.3f')} |")
    return lines
