"""The outcome log: round trips, feedback, resumable keys, SQLite settings, and crashes mid-write."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from policies.outcomes import OutcomeLog, OutcomeRow, UnknownQuery
from strategies.settings import DEFAULT_DB as DEFAULT_URL
from strategies.base import Result
from strategies.cost import Cost
from strategies.task import task_from_obj

REPO = Path(__file__).resolve().parents[1]


def row(**kw) -> OutcomeRow:
    base = dict(task_hash="h1", task_name="t1", strategy="icl", model_id="tiny",
                features={"demo_ppl": 2.5, "n_demos": 3.0}, attempts=[[[[1, 2]]]],
                cost=Cost(wall_s=1.5, tokens_in=10, tokens_trained=40), suite="arc", family="flip")
    return OutcomeRow(**(base | kw))


@pytest.fixture
def log(tmp_path):
    with OutcomeLog(f"sqlite:///{tmp_path / 'o.db'}") as lg:
        yield lg


def test_a_row_round_trips_with_its_cost_flattened(log):
    r = row(route_reason="demo_ppl high", thread_id="th-1")
    qid = log.append(r)
    got = log.get(qid)
    assert qid == r.query_id and len(qid) == 32
    assert got["features"] == r.features and got["attempts"] == r.attempts
    assert got["cost"] == r.cost.model_dump() and got["wall_s"] == 1.5 and got["tokens_trained"] == 40
    assert got["correct"] is None and got["suite"] == "arc" and got["route_reason"] == "demo_ppl high"
    assert got["created_at"] == r.created_at and got["created_at"].tzinfo == timezone.utc


def test_a_plain_dict_is_validated_and_unknown_keys_refused(log):
    qid = log.append({"task_hash": "h", "strategy": "ttt", "model_id": "m", "correct": True})
    assert log.get(qid)["correct"] is True
    with pytest.raises(ValidationError, match="colour"):
        log.append({"task_hash": "h", "strategy": "ttt", "model_id": "m", "colour": "red"})


def test_feedback_attaches_to_its_query(log):
    a, b = log.append(row()), log.append(row(strategy="ttt"))
    log.attach_feedback(b, True)
    assert log.get(a)["correct"] is None and log.get(b)["correct"] is True
    log.attach_feedback(b, False)
    assert log.get(b)["correct"] is False


def test_feedback_for_an_unknown_query_is_a_clear_error(log):
    with pytest.raises(UnknownQuery, match="no outcome with query_id 'nope'"):
        log.attach_feedback("nope", True)


def test_rows_filter_and_come_oldest_first(log):
    ids = [log.append(row(strategy=s, correct=c)) for s, c in (("icl", True), ("ttt", None), ("icl", False))]
    assert [r["query_id"] for r in log.rows()] == ids
    assert [r["query_id"] for r in log.rows(strategy="icl")] == [ids[0], ids[2]]
    assert [r["query_id"] for r in log.rows(with_feedback=False)] == [ids[1]]
    assert log.rows(model_id="other") == []


def test_done_keys_let_a_collection_resume(log):
    log.append(row(task_hash="a", strategy="icl"))
    log.append(row(task_hash="a", strategy="ttt"))
    log.append(row(task_hash="a", strategy="ttt"))
    log.append(row(task_hash="b", strategy="icl", model_id="other"))
    assert log.done_keys() == {("a", "icl", "tiny"), ("a", "ttt", "tiny"), ("b", "icl", "other")}
    assert log.done_keys("other") == {("b", "icl", "other")}


def test_a_row_from_a_strategy_result_is_scored():
    task = task_from_obj({"train": [{"input": "a", "output": "b"}], "test": [{"input": "c", "output": "d"}]})
    res = Result(strategy="icl", attempts=[["x", "d"]], cost=Cost(wall_s=2.0))
    r = OutcomeRow.from_result(task, res, "tiny", features={"n_demos": 1.0})
    assert r.correct is True and r.task_hash == task.content_hash() and r.cost.wall_s == 2.0


def test_the_url_comes_from_tttc_db_then_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("TTTC_DB", f"sqlite:///{tmp_path / 'env.db'}")
    with OutcomeLog() as lg:
        lg.append(row())
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("TTTC_DB")
    monkeypatch.chdir(tmp_path)
    with OutcomeLog() as lg:
        assert lg.url == DEFAULT_URL == "sqlite:///tttc.db"
    assert (tmp_path / "tttc.db").exists()


def test_sqlite_runs_in_wal_mode_with_normal_sync(log):
    with log.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 1   # NORMAL


# -- crashes ----------------------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import os, sys
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from policies.outcomes import OutcomeLog
    log = OutcomeLog(sys.argv[1])
    die_at = int(sys.argv[2])
    written = 0
    @event.listens_for(Session, "after_flush")
    def die(session, ctx):
        if written == die_at:           # the INSERT is sent, the COMMIT is not
            os._exit(3)
    while True:
        log.append({"task_hash": f"t{written}", "strategy": "ttt", "model_id": "m",
                    "features": {"x": float(written)}, "attempts": [[[[1] * 30] * 30]]})
        written += 1
        if die_at < 0:
            print(written, flush=True)
""")


def _writer(db: Path, die_at: int) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", WRITER, f"sqlite:///{db}", str(die_at)],
                            env=env, stdout=subprocess.PIPE, text=True)


def _consistent(db: Path) -> None:
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_a_process_dying_inside_a_write_loses_only_that_row(tmp_path):
    db = tmp_path / "o.db"
    proc = _writer(db, die_at=5)
    assert proc.wait(timeout=60) == 3
    _consistent(db)
    with OutcomeLog(f"sqlite:///{db}") as lg:
        assert [r["task_hash"] for r in lg.rows()] == [f"t{i}" for i in range(5)]
        lg.append(row())   # and it still takes writes
        assert len(lg.rows()) == 6


def test_a_process_killed_at_a_random_moment_leaves_whole_rows(tmp_path):
    db = tmp_path / "o.db"
    proc = _writer(db, die_at=-1)
    for _ in range(20):                   # let it commit some rows, then kill it mid-stream
        proc.stdout.readline()
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _consistent(db)
    with OutcomeLog(f"sqlite:///{db}") as lg:
        rows = lg.rows()
    assert len(rows) >= 20
    assert all(r["features"] == {"x": float(r["task_hash"][1:])} and len(r["attempts"][0][0]) == 30
               for r in rows)


def test_outcomes_round_trip_through_jsonl_and_a_second_import_adds_nothing(tmp_path):
    from policies.outcomes import OutcomeLog
    src = OutcomeLog(f"sqlite:///{tmp_path / 'a.db'}")
    src.append({"task_hash": "h1", "strategy": "icl", "model_id": "m", "correct": True, "features": {"x": 1.0},
                "cost": {"wall_s": 1.5, "tokens_trained": 0}})
    src.append({"task_hash": "h1", "strategy": "ttt", "model_id": "m", "correct": False,
                "cost": {"wall_s": 30.0, "tokens_trained": 900, "steps": 8}})
    path = tmp_path / "out.jsonl"
    assert src.export_jsonl(path) == 2
    dst = OutcomeLog(f"sqlite:///{tmp_path / 'b.db'}")
    assert dst.import_jsonl(path) == 2 and dst.import_jsonl(path) == 0
    strip = lambda rows: [{k: v for k, v in r.items() if k != "created_at"} for r in rows]
    assert strip(dst.rows()) == strip(src.rows())


def test_a_bad_jsonl_line_names_the_file_and_line_and_imports_nothing(tmp_path):
    import pytest
    from policies.outcomes import OutcomeLog
    path = tmp_path / "bad.jsonl"
    path.write_text('{"task_hash": "h", "strategy": "icl", "model_id": "m"}\n{"nonsense": 1}\n')
    log = OutcomeLog(f"sqlite:///{tmp_path / 'c.db'}")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not an outcome row"):
        log.import_jsonl(path)
    assert log.rows() == []


def test_export_and_import_outcomes_commands_carry_the_feature_costs(tmp_path, capsys):
    from controller.cli import main
    from policies.outcomes import OutcomeLog
    src_url, dst_url = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    with OutcomeLog(src_url) as src:
        src.append({"task_hash": "h1", "strategy": "icl", "model_id": "m", "correct": True, "features": {"x": 1.0}})
        src.feature_costs.record("h1", "m", {"demo_ppl": {"wall_s": 0.25, "tokens_in": 40, "flops": 1e9}})
    out = tmp_path / "data" / "o.jsonl"
    out.parent.mkdir()
    assert main(["export-outcomes", "--db", src_url, str(out)]) == 0
    assert (tmp_path / "data" / "o.feature-costs.jsonl").exists()
    assert main(["import-outcomes", "--db", dst_url, *map(str, sorted(out.parent.glob("*.jsonl")))]) == 0
    assert "1 rows added" in capsys.readouterr().out   # the feature-cost file named by the glob is not read as rows
    with OutcomeLog(dst_url) as dst:
        assert [r["task_hash"] for r in dst.rows()] == ["h1"]
        means = dst.feature_costs.means("m")
    assert means["demo_ppl"]["wall_s"] == 0.25 and means["demo_ppl"]["tokens_in"] == 40


def test_export_can_leave_out_the_tasks_of_an_earlier_export(tmp_path, capsys):
    """A resumed collect's new rows only: the tasks already committed in an earlier file are left out,
    with their feature costs; a file that is not an export is an error naming it."""
    import json

    from controller.cli import main
    from policies.outcomes import OutcomeLog
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with OutcomeLog(url) as log:
        log.append({"task_hash": "old", "strategy": "icl", "model_id": "m", "correct": True, "features": {}})
        log.feature_costs.record("old", "m", {"demo_ppl": {"wall_s": 1.0}})
    first = tmp_path / "first.jsonl"
    assert main(["export-outcomes", "--db", url, str(first)]) == 0
    with OutcomeLog(url) as log:
        log.append({"task_hash": "new", "strategy": "icl", "model_id": "m", "correct": False, "features": {}})
        log.feature_costs.record("new", "m", {"demo_ppl": {"wall_s": 2.0}})
    second = tmp_path / "second.jsonl"
    assert main(["export-outcomes", "--db", url, str(second), "--skip-tasks-in", str(first)]) == 0
    assert "1 earlier tasks left out" in capsys.readouterr().out
    assert [json.loads(x)["task_hash"] for x in second.read_text().splitlines()] == ["new"]
    costs = [json.loads(x) for x in (tmp_path / "second.feature-costs.jsonl").read_text().splitlines()]
    assert [c["task_hash"] for c in costs] == ["new"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"strategy": "icl"}\n')
    assert main(["export-outcomes", "--db", url, str(tmp_path / "x.jsonl"), "--skip-tasks-in", str(bad)]) == 1
    assert "bad.jsonl:1: not an outcome row with a task_hash: missing key 'task_hash'" in capsys.readouterr().err


def test_export_of_a_missing_log_is_an_error_and_creates_nothing(tmp_path, capsys):
    from controller.cli import main
    assert main(["export-outcomes", "--db", f"sqlite:///{tmp_path / 'nope.db'}", str(tmp_path / "o.jsonl")]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists() and not (tmp_path / "o.jsonl").exists()
    assert main(["train-router", "--db", f"sqlite:///{tmp_path / 'nope.db'}", "--out", str(tmp_path / "r")]) == 1
    assert not (tmp_path / "nope.db").exists()


def test_a_bad_feature_cost_line_names_the_file_and_line_and_imports_nothing(tmp_path):
    import pytest
    from policies.outcomes import OutcomeLog
    path = tmp_path / "c.feature-costs.jsonl"
    path.write_text('{"task_hash": "h", "model_id": "m", "feature": "f", "wall_s": 1, "tokens_in": 1, '
                    '"tokens_out": 0, "flops": 1}\n{"task_hash": "h"}\n')
    with OutcomeLog(f"sqlite:///{tmp_path / 'c.db'}") as log:
        fc = log.feature_costs
        with pytest.raises(ValueError, match=r"c.feature-costs.jsonl:2: not a feature-cost record"):
            fc.import_jsonl(path)
        assert fc.means() == {}


def test_a_jsonl_line_that_is_not_an_object_is_a_located_error(tmp_path):
    import pytest
    from policies.outcomes import OutcomeLog
    path = tmp_path / "list.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match=r"list.jsonl:1: not an outcome row: a JSON list, not an object"):
        OutcomeLog(f"sqlite:///{tmp_path / 'd.db'}").import_jsonl(path)


def test_a_log_written_before_the_schema_was_one_opens_migrated(tmp_path):
    """An older database: `outcomes` without the thread and route columns, and `feature_costs` made apart
    (it had its own schema). Opening it adds the columns; old rows read None there, and both tables serve."""
    import sqlite3

    from policies.outcomes import OutcomeLog
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE outcomes (query_id VARCHAR(32) PRIMARY KEY, task_hash VARCHAR(64), task_name VARCHAR(256),
            suite VARCHAR(128), family VARCHAR(128), features JSON, strategy VARCHAR(128), attempts JSON,
            correct BOOLEAN, cost JSON, wall_s FLOAT, tokens_trained INTEGER, model_id VARCHAR(256),
            created_at DATETIME);
        CREATE TABLE feature_costs (task_hash VARCHAR(64), model_id VARCHAR(256), feature VARCHAR(128),
            wall_s FLOAT, tokens_in INTEGER, tokens_out INTEGER, flops FLOAT,
            PRIMARY KEY (task_hash, model_id, feature));
        INSERT INTO outcomes VALUES ('q1', 'h1', 't', NULL, NULL, '{"x": 1.0}', 'icl', '[["a"]]', 1,
            '{"wall_s": 2.0}', 2.0, 0, 'm', '2025-01-01 00:00:00');
        INSERT INTO feature_costs VALUES ('h1', 'm', 'demo_ppl', 0.5, 10, 0, 1e6);
    """)
    con.commit()
    con.close()
    with OutcomeLog(f"sqlite:///{path}") as log:
        old = log.get("q1")
        assert old["route_reason"] is None and old["thread_id"] is None and old["features"] == {"x": 1.0}
        log.append({"task_hash": "h2", "strategy": "ttt", "model_id": "m", "route_reason": "why", "thread_id": "t1"})
        assert [r["route_reason"] for r in log.rows()] == [None, "why"]
        assert log.feature_costs.means("m")["demo_ppl"]["wall_s"] == 0.5


def test_a_schema_another_process_created_meanwhile_is_taken_as_it_is(tmp_path, monkeypatch):
    """Two processes opening one new file: the CREATE of the second fails with 'already exists'."""
    from sqlalchemy.exc import OperationalError

    import policies.outcomes as outcomes
    real, calls = outcomes.Base.metadata.create_all, []

    def racing(engine, *a, **k):
        calls.append(1)
        real(engine, *a, **k)                      # the other process's tables ...
        if len(calls) == 1:                        # ... appear between our check and our CREATE
            raise OperationalError("CREATE TABLE outcomes", {}, Exception("table outcomes already exists"))

    monkeypatch.setattr(outcomes.Base.metadata, "create_all", racing)
    with outcomes.OutcomeLog(f"sqlite:///{tmp_path}/new.db") as log:
        assert log.rows() == [] and len(calls) == 2


def test_other_schema_errors_are_not_swallowed(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import policies.outcomes as outcomes

    def broken(engine, *a, **k):
        raise OperationalError("CREATE TABLE outcomes", {}, Exception("disk I/O error"))

    monkeypatch.setattr(outcomes.Base.metadata, "create_all", broken)
    with pytest.raises(OperationalError, match="disk I/O"):
        outcomes.OutcomeLog(f"sqlite:///{tmp_path}/new.db")
