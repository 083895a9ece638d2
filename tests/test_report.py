"""`tttc report` on a small synthetic log (30 queries, 3 strategies) whose numbers are worked out by hand."""
from __future__ import annotations

import argparse
import base64
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from policies.outcomes import OutcomeLog, OutcomeRow
from strategies.cost import Cost

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ROUTED = {"icl": range(0, 12), "icl-vote": range(12, 18), "ttt": range(18, 30)}


def synthetic_rows(strategies=("icl", "icl-vote", "ttt"), routed: bool = True) -> list[OutcomeRow]:
    """Query i (0..29): text for i < 15, grid after. icl is right on i < 10 in 1.0 + 0.1*(i % 5) s;
    icl-vote on i < 15 in 4 s; ttt on i < 24 in 30 + i s with 1000 tokens trained. The router chose
    icl for 0..11, icl-vote for 12..17 and ttt for 18..29."""
    spec = {"icl": (lambda i: i < 10, lambda i: 1.0 + 0.1 * (i % 5), 0),
            "icl-vote": (lambda i: i < 15, lambda i: 4.0, 0),
            "ttt": (lambda i: i < 24, lambda i: 30.0 + i, 1000)}
    rows = []
    for i in range(30):
        features = {"demo_ppl": i / 10, "self_consistency": 1 - i / 30, "is_grid": float(i >= 15)}
        for s in strategies:
            right, wall, tokens = spec[s]
            rows.append(OutcomeRow(
                task_hash=f"t{i:02d}", task_name=f"task{i}", strategy=s, model_id="m", features=features,
                correct=right(i), cost=Cost(wall_s=wall(i), tokens_trained=tokens), suite="synthetic",
                family="text" if i < 15 else "grid", created_at=T0 + timedelta(minutes=i),
                route_reason=f"router: {s}" if routed and i in ROUTED[s] else None))
    return rows


def make_db(path: Path, rows) -> str:
    url = f"sqlite:///{path}"
    with OutcomeLog(url) as log:
        log.extend(rows)
    return url


def report(db: str, out: Path, *extra: str) -> int:
    from controller.cli import report as command
    p = argparse.ArgumentParser()
    command.add_arguments(p)
    return command.run(p.parse_args(["--db", db, "--out", str(out), *extra]))


@pytest.fixture(scope="module")
def router_dir(tmp_path_factory):
    from policies.router import fit_router
    from policies.bundle import save_bundle
    from policies.cost_model import CostModel
    from policies.table import pivot
    rows = [r.model_dump() | {"wall_s": r.cost.wall_s} for r in synthetic_rows()]
    d = tmp_path_factory.mktemp("router")   # laid out as `tttc train-router` ships one
    return save_bundle(fit_router(pivot(rows), lam=0.005), CostModel().fit(rows), d, budget={"share": 0.5})


@pytest.fixture(scope="module")
def built(tmp_path_factory, router_dir):
    tmp = tmp_path_factory.mktemp("report")
    db = make_db(tmp / "log.db", synthetic_rows())
    assert report(db, tmp / "out", "--router", str(router_dir)) == 0
    return tmp / "out", db


def table_row(md: str, first: str) -> list[str]:
    line = next(l for l in md.splitlines() if l.startswith(f"| {first} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_report_writes_markdown_html_and_both_figures(built):
    out, _ = built
    assert {p.name for p in out.iterdir()} == {"report.md", "report.html", "curve.png", "calibration.png"}
    assert all((out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in ("curve.png", "calibration.png"))


def test_strategy_table_matches_hand_computed_accuracy_seconds_and_routed_share(built):
    md = (built[0] / "report.md").read_text()
    # accuracy, mean s, p90 s (linear percentile), tokens trained per run, share of the 30 routed runs
    assert table_row(md, "icl") == ["icl", "30", "0.33", "1.20", "1.40", "0", "40%"]
    assert table_row(md, "icl-vote") == ["icl-vote", "30", "0.50", "4.00", "4.00", "0", "20%"]
    assert table_row(md, "ttt") == ["ttt", "30", "0.80", "44.5", "56.1", "1,000", "40%"]
    # as routed: icl right on 0..9, icl-vote on 12..14, ttt on 18..23 -> 19/30
    assert table_row(md, "as routed")[:3] == ["as routed", "30", "0.63"]


def test_family_table_splits_text_and_grid(built):
    md = (built[0] / "report.md").read_text()
    assert table_row(md, "grid") == ["grid", "15", "0.00 · 1.20 s (15)", "0.00 · 4.00 s (15)", "0.60 · 52.0 s (15)", "ttt"]
    assert table_row(md, "text") == ["text", "15", "0.67 · 1.20 s (15)", "1.00 · 4.00 s (15)", "1.00 · 37.0 s (15)",
                                     "icl-vote"]


def test_headline_is_three_lines_then_the_command_queries_and_date(built):
    out, db = built
    paras = (out / "report.md").read_text().split("\n\n")
    assert paras[1].startswith("**Best strategy:** `ttt`, accuracy 0.80 at 44.5 s")
    assert paras[2].startswith("**Router vs `ttt`:**") and "of its time" in paras[2]
    assert paras[3].startswith("**APGR ")
    assert paras[4].startswith("30 queries (90 runs, 3 strategies)") and re.search(r"report made \d{4}-\d\d-\d\d", paras[4])
    assert f"tttc report --db {db} --out {out} --router " in paras[5]


def test_apgr_is_policies_metrics_apgr_of_the_learned_router(built, router_dir):
    from eval.report.curves import SHARES
    from policies.baselines import Learned
    from policies.metrics import apgr, curve
    from policies.store import load_router
    from policies.table import pivot
    table = pivot([r.model_dump() | {"wall_s": r.cost.wall_s} for r in synthetic_rows()])
    expected = apgr(curve(Learned(load_router(router_dir / "router.json")), table, shares=SHARES), 10 / 30, 0.8)
    md = (built[0] / "report.md").read_text()
    assert f"**APGR {expected:.2f}**" in md
    assert table_row(md, "learned router")[1] == f"{expected:.2f}"
    assert table_row(md, "oracle")[1] == "0.77"   # right at share 0 -> 14/30 linearly, then flat: (0.691 - 1/3) / (0.8 - 1/3)


def test_confusion_table_counts_chosen_against_cheapest_right(built):
    md = (built[0] / "report.md").read_text()
    as_routed = md[md.index("### As routed"):]
    # icl chosen on 0..11: icl right on 0..9, icl-vote the cheapest right on 10, 11
    assert table_row(as_routed, "icl") == ["icl", "10", "2", "0", "0", "12"]
    assert table_row(as_routed, "ttt") == ["ttt", "0", "0", "6", "6", "12"]   # nobody right on 24..29


def test_html_embeds_every_png_as_a_data_uri(built):
    out, _ = built
    page = (out / "report.html").read_text()
    uris = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert sorted(base64.b64decode(u) for u in uris) == sorted((out / f).read_bytes() for f in ("curve.png", "calibration.png"))
    assert "<table>" in page and "APGR" in page and "src='curve.png'" not in page


def test_routed_share_is_na_when_the_router_decided_nothing(tmp_path):
    db = make_db(tmp_path / "log.db", synthetic_rows(routed=False))
    assert report(db, tmp_path / "out", "--router", str(tmp_path / "none")) == 1   # no such router: an error
    assert report(db, tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert table_row(md, "icl")[-1] == "n/a" and "| as routed |" not in md


def test_a_router_folder_with_a_foreign_manifest_is_refused_by_name(tmp_path, router_dir, capsys):
    import shutil
    db = make_db(tmp_path / "log.db", synthetic_rows())
    bad = shutil.copytree(router_dir, tmp_path / "bad")
    (bad / "manifest.json").write_text('{"note": "not a manifest"}')
    assert report(db, tmp_path / "out", "--router", str(bad)) == 1
    assert f"{bad / 'manifest.json'}: not a ttt-controller/router-manifest file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_database_is_a_clear_error_and_is_not_created(tmp_path, capsys):
    assert report(f"sqlite:///{tmp_path / 'nope.db'}", tmp_path / "out") == 1
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists() and not (tmp_path / "out").exists()


def test_an_empty_database_is_a_clear_error(tmp_path, capsys):
    OutcomeLog(f"sqlite:///{tmp_path / 'empty.db'}").close()
    assert report(str(tmp_path / "empty.db"), tmp_path / "out") == 1   # a plain path means a SQLite file
    assert "holds no outcomes yet" in capsys.readouterr().err


def test_one_strategy_writes_the_tables_and_says_the_curve_needs_two(tmp_path):
    db = make_db(tmp_path / "log.db", synthetic_rows(strategies=("icl",)))
    assert report(db, tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert table_row(md, "icl")[:4] == ["icl", "30", "0.33", "1.20"]
    assert "The curve needs at least 2 strategies; this log has only icl" in md
    assert not (tmp_path / "out" / "curve.png").exists()


def test_a_users_own_choice_is_not_a_routing_decision():
    from eval.report.data import is_routed
    assert is_routed({"route_reason": "default rule: grid task"})
    assert not is_routed({"route_reason": None}) and not is_routed({"route_reason": ""})


def test_the_cli_parser_loads_neither_torch_nor_matplotlib():
    code = ("import sys, controller.cli.dispatch; controller.cli.dispatch.build_parser(); "
            "assert not {'torch', 'matplotlib'} & set(sys.modules), 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_a_router_trained_on_the_logs_own_queries_is_flagged_in_sample(tmp_path):
    from policies.bundle import save_bundle
    from policies.cost_model import CostModel
    from policies.router import fit_router
    from policies.table import pivot
    rows = [r.model_dump() | {"wall_s": r.cost.wall_s} for r in synthetic_rows()]
    keys = sorted({r["task_hash"] for r in rows})
    d = save_bundle(fit_router(pivot(rows), lam=0.005), CostModel().fit(rows), tmp_path / "r",
                    report={"trained_on": keys[:10]})
    db = make_db(tmp_path / "log.db", synthetic_rows())
    assert report(db, tmp_path / "out", "--router", str(d)) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert f"**In-sample:** the router was trained on 10 of these {len(keys)} queries" in md
    d2 = save_bundle(fit_router(pivot(rows), lam=0.005), CostModel().fit(rows), tmp_path / "r2", report={"trained_on": []})
    assert report(db, tmp_path / "out2", "--router", str(d2)) == 0
    assert "In-sample" not in (tmp_path / "out2" / "report.md").read_text()


def test_without_router_the_report_sweeps_the_router_shipped_for_the_logs_model(tmp_path, monkeypatch):
    import policies.bundle as bundle_module
    from eval.report.build import find_router
    from policies.bundle import BY_MODEL, save_bundle
    from policies.cost_model import CostModel
    from policies.router import fit_router
    from policies.table import pivot
    monkeypatch.delenv("TTTC_ROUTER_DIR", raising=False)
    monkeypatch.setattr(bundle_module, "SHIPPED", tmp_path / "shipped")
    rows = [r.model_dump() | {"wall_s": r.cost.wall_s} for r in synthetic_rows()]
    for d in (tmp_path / "shipped", tmp_path / "shipped" / BY_MODEL / "other-model"):
        save_bundle(fit_router(pivot(rows), lam=0.005), CostModel().fit(rows), d)
    assert f"({tmp_path / 'shipped' / BY_MODEL / 'other-model'}/)" in find_router(None, "other-model")[2]
    assert f"({tmp_path / 'shipped'}/)" in find_router(None, "the-default-model")[2]
