"""The report's inputs: outcome-log rows, per-strategy and per-family statistics, and the routing confusion."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from policies.table import Table

NONE_RIGHT = "none"                  # the confusion column for queries that no strategy got right
TRAINING_KINDS = ("ttt", "tlm")


class ReportError(ValueError):
    """Why no report (or no part of one) can be made, in words a user can act on."""


def load_rows(url: str, suite: str | None = None, model_id: str | None = None) -> list[dict[str, Any]]:
    """The log's rows for one model (and suite); a missing or empty database is a ReportError."""
    from policies.outcomes import OutcomeLog, check_exists
    try:
        check_exists(url)
    except ValueError as e:
        raise ReportError(str(e)) from None
    log = OutcomeLog(url)
    try:
        rows = log.rows(suite=suite)
        if not rows and suite is not None and log.rows():
            suites = sorted({str(r["suite"]) for r in log.rows()})
            raise ReportError(f"no outcomes for suite {suite!r} in {url}; suites there: {', '.join(suites)}")
    finally:
        log.close()
    if not rows:
        raise ReportError(f"{url} holds no outcomes yet: run `tttc collect` or `make demo` first")
    models = sorted({r["model_id"] for r in rows})
    if model_id is not None:
        rows = [r for r in rows if r["model_id"] == model_id]
        if not rows:
            raise ReportError(f"no outcomes of model {model_id!r}; models there: {', '.join(models)}")
    elif len(models) > 1:
        raise ReportError(f"outcomes of several models ({', '.join(models)}): choose one with --model")
    return rows


def is_routed(row: Mapping[str, Any]) -> bool:
    """Whether the router picked this row's strategy (a user's own choice does not count)."""
    reason = row.get("route_reason")
    return bool(reason)  # the graph logs a reason only when the router chose


def is_training(strategy: str) -> bool:
    """A strategy that trains an adapter (ttt, tlm); names the library does not know are judged by name."""
    from strategies.registry import registry
    reg = registry()
    if strategy in reg.names():
        return reg.get(strategy).kind in TRAINING_KINDS
    return any(k in strategy.lower() for k in TRAINING_KINDS)


@dataclass(frozen=True)
class StrategyStats:
    name: str
    runs: int                      # rows in the log
    scored: int                    # rows with feedback (correct known)
    accuracy: float                # over scored rows; NaN when none
    mean_s: float
    p90_s: float
    tokens_trained: float          # mean per run
    routed: int                    # rows where the router chose it
    routed_share: float | None     # of all routed rows; None when the router decided nothing


def _stats(name: str, rows: Sequence[Mapping[str, Any]], routed: int, routed_total: int) -> StrategyStats:
    secs = np.array([float(r["wall_s"]) for r in rows])
    right = [bool(r["correct"]) for r in rows if r.get("correct") is not None]
    return StrategyStats(name, len(rows), len(right), float(np.mean(right)) if right else float("nan"),
                         float(secs.mean()), float(np.percentile(secs, 90)),
                         float(np.mean([float(r.get("tokens_trained") or 0) for r in rows])),
                         routed, routed / routed_total if routed_total else None)


def order_strategies(rows: Iterable[Mapping[str, Any]], cheap: str = "icl") -> list[str]:
    """`cheap` first (when present), then the others by mean seconds."""
    secs: dict[str, list[float]] = {}
    for r in rows:
        secs.setdefault(r["strategy"], []).append(float(r["wall_s"]))
    rest = sorted((s for s in secs if s != cheap), key=lambda s: (np.mean(secs[s]), s))
    return ([cheap] if cheap in secs else []) + rest


def strategy_stats(rows: Sequence[Mapping[str, Any]], order: Sequence[str]) -> list[StrategyStats]:
    """One line per strategy over every run of it (repeats included: each cost was paid)."""
    routed = Counter(r["strategy"] for r in rows if is_routed(r))
    total = sum(routed.values())
    return [_stats(s, [r for r in rows if r["strategy"] == s], routed[s], total) for s in order]


def as_routed(rows: Sequence[Mapping[str, Any]]) -> StrategyStats | None:
    """The router as it ran: every routed row, whatever strategy it chose."""
    mine = [r for r in rows if is_routed(r)]
    return _stats("as routed", mine, len(mine), len(mine)) if mine else None


def group_of(row: Mapping[str, Any], by: str) -> str:
    return str(row.get(by) or "(none)")


def grouping(rows: Sequence[Mapping[str, Any]]) -> str:
    """Group by task family when the log names any, else by suite."""
    return "family" if any(r.get("family") for r in rows) else "suite"


def group_stats(rows: Sequence[Mapping[str, Any]], by: str, order: Sequence[str]
                ) -> dict[str, dict[str, StrategyStats]]:
    """group -> strategy -> statistics over that group's runs of that strategy."""
    out: dict[str, dict[str, StrategyStats]] = {}
    for g in sorted({group_of(r, by) for r in rows}):
        mine = [r for r in rows if group_of(r, by) == g]
        out[g] = {s: _stats(s, [r for r in mine if r["strategy"] == s], 0, 0)
                  for s in order if any(r["strategy"] == s for r in mine)}
    return out


def cheapest_right(table: Table, i: int) -> str:
    """The strategy that was right on query i at the fewest seconds, among those run on it; NONE_RIGHT if none was."""
    right = table.correct[i] == 1
    if not right.any():
        return NONE_RIGHT
    return table.strategies[int(np.argmin(np.where(right, table.seconds[i], np.inf)))]


def confusion(chosen: Mapping[str, str], table: Table) -> Counter:
    """(chosen strategy, cheapest right strategy) -> number of queries; `chosen` maps task hash -> strategy."""
    index = {k: i for i, k in enumerate(table.keys)}
    return Counter((s, cheapest_right(table, index[k])) for k, s in chosen.items() if k in index)


def logged_choices(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """task hash -> the strategy the router chose for it (the latest routed row wins)."""
    return {r["task_hash"]: r["strategy"] for r in rows if is_routed(r)}
