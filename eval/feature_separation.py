"""How well each feature column alone separates the outcomes a router must tell apart (ROC AUC per column).

Three questions per task: is the cheap strategy right; is the TTT strategy right; does the TTT strategy
beat the cheap one (right where it was wrong: the only tasks where TTT's cost buys anything). An AUC of 0.5
is no information; below 0.5 the column separates with its sign flipped. A quick screen for a new feature
before the cross-validated router benchmark (eval/bench_router.py), which is what decides.

    python -m eval.feature_separation --db sqlite:///runs/x.db [--families a,b] [--vs ttt-lite]
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

import numpy as np


def auc(y: np.ndarray, x: np.ndarray) -> float | None:
    """ROC AUC of score `x` for the 0/1 labels `y`, NaN scores left out; None when one class is absent."""
    from sklearn.metrics import roc_auc_score
    ok = ~np.isnan(x) & ~np.isnan(y)
    if len(set(y[ok].tolist())) < 2:
        return None
    return float(roc_auc_score(y[ok], x[ok]))


def separation(rows: Sequence[dict[str, Any]], cheap: str = "icl", vs: str = "ttt-lite") -> dict[str, Any]:
    from policies.table import pivot
    t = pivot(rows, strategies=[cheap, vs], cheap=cheap).complete()
    a, b = t.correct[:, 0], t.correct[:, 1]
    targets = {f"{cheap} right": a, f"{vs} right": b, f"{vs} beats {cheap}": (b > a).astype(float)}
    cols = {name: {target: auc(y, t.X[:, j]) for target, y in targets.items()}
            for j, name in enumerate(t.feature_names)}
    return {"n": t.n, "rates": {k: float(v.mean()) for k, v in targets.items()}, "columns": cols}


def markdown(res: dict[str, Any]) -> str:
    targets = list(res["rates"])
    lines = [f"{res['n']} tasks; " + ", ".join(f"{k}: {v:.2f}" for k, v in res["rates"].items()), "",
             "| column | " + " | ".join(f"AUC: {t}" for t in targets) + " |", "|---" + "|---:" * len(targets) + "|"]
    for name, aucs in res["columns"].items():
        lines.append(f"| {name} | " + " | ".join("-" if aucs[t] is None else f"{aucs[t]:.3f}" for t in targets) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="outcome log URL (tttc import-outcomes fills one from jsonl files)")
    ap.add_argument("--cheap", default="icl")
    ap.add_argument("--vs", default="ttt-lite", help="the TTT strategy to compare with the cheap one")
    ap.add_argument("--families", default=None, help="only tasks of these families (comma-separated)")
    args = ap.parse_args(argv)
    from policies.outcomes import OutcomeLog
    with OutcomeLog(args.db) as log:
        rows = log.rows(with_feedback=True)
    if args.families:
        wanted = {f.strip() for f in args.families.split(",") if f.strip()}
        rows = [r for r in rows if r.get("family") in wanted]
    models = sorted({r["model_id"] for r in rows})
    if len(models) != 1:
        print(f"feature_separation: need rows of exactly one model, found {models or 'none'}", file=sys.stderr)
        return 1
    strategies = {r["strategy"] for r in rows}
    missing = [s for s in (args.cheap, args.vs) if s not in strategies]
    if missing:
        print(f"feature_separation: no rows for {missing}; the log has {sorted(strategies)}", file=sys.stderr)
        return 1
    print(markdown(separation(rows, args.cheap, args.vs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
