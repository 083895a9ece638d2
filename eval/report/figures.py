"""The report's figures as PNG bytes: accuracy vs mean seconds per query, and the router's reliability diagram."""
from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")   # files only, never a window; must precede any pyplot import anywhere
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from .calibration import Reliability  # noqa: E402
from .curves import Curves  # noqa: E402

STYLE = {   # series name -> matplotlib keyword arguments
    "learned router": dict(color="tab:blue", lw=2.5, marker="o", ms=4, zorder=5),
    "oracle": dict(color="black", ls="--", lw=1.2, marker=".", ms=3),
    "random": dict(color="tab:gray", lw=1, marker=".", ms=3),
    "perplexity-only": dict(color="tab:orange", lw=1.2, marker="^", ms=3),
    "self-consistency-only": dict(color="tab:green", lw=1.2, marker="s", ms=3),
}
FIXED = ["tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
MIN_SECONDS = 1e-3   # log axis: a point at 0 s is drawn here


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def curve_png(c: Curves) -> bytes:
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot()
    fixed = iter(FIXED * 4)
    for s in c.series:
        xs = [max(p.seconds, MIN_SECONDS) for p in s.points]
        ys = [p.accuracy for p in s.points]
        if s.swept:
            order = sorted(range(len(xs)), key=lambda i: (xs[i], ys[i]))
            ax.plot([xs[i] for i in order], [ys[i] for i in order], label=s.name,
                    **STYLE.get(s.name, dict(lw=1, marker=".")))
        else:
            ax.scatter(xs, ys, s=90, marker="D", color=next(fixed), edgecolor="black", zorder=6, label=s.name)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))   # 0.5, 1, 2, 5, 10, ... not 10^0
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("mean wall seconds per query (log scale)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"Accuracy vs cost on {c.table.n} queries" if c.table is not None else "Accuracy vs cost")
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def calibration_png(rel: Sequence[Reliability]) -> bytes:
    """Top: observed accuracy against mean predicted P(correct) per bin, each point labelled with its count.
    Bottom: how many predictions fall in each bin."""
    fig = Figure(figsize=(6.5, 6.2))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="black", ls=":", lw=1, label="perfectly calibrated")
    n_bins = len(rel[0].counts) if rel else 10
    width = 1.0 / n_bins / max(len(rel), 1)
    for k, r in enumerate(rel):
        used = r.counts > 0
        line, = top.plot(r.mean_p[used], r.observed[used], marker="o",
                         label=f"{r.strategy} (ECE {r.ece:.2f}, n={r.n})")
        for x, y, n in zip(r.mean_p[used], r.observed[used], r.counts[used]):
            top.annotate(str(int(n)), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7,
                         color=line.get_color())
        lefts = [i / n_bins + k * width for i in range(n_bins)]
        bottom.bar(lefts, r.counts, width=width, align="edge", color=line.get_color(), alpha=0.7)
    top.set_ylabel("observed share correct")
    top.set_ylim(-0.05, 1.1)   # room for the count labels
    top.set_xlim(0, 1)
    top.grid(True, alpha=0.3)
    top.legend(fontsize=8, loc="upper left")
    top.set_title("Router calibration: P(correct) per strategy")
    bottom.set_xlabel("predicted P(correct)")
    bottom.set_ylabel("count")
    return _png(fig)
