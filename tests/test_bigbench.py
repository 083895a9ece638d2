"""BIG-bench / BBH task files: sampling into demonstrations and queries, one-line errors, and `tttc ask` on them."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from strategies.bigbench import Sampling, is_bigbench, task_from_bigbench
from strategies.task import Prediction, TaskError, load_task, score, score_each, task_from_obj

ROOT = Path(__file__).resolve().parents[1]
BBH = ROOT.parent / "shared" / "data" / "bbh"


def examples(n, target=lambda i: f"t{i}"):
    return {"examples": [{"input": f"q{i}", "target": target(i)} for i in range(n)]}


def test_sampling_draws_demos_then_the_next_queries():
    t = task_from_bigbench(examples(20), "toy", Sampling(demos=5, queries=3, seed=1))
    assert (len(t.train), len(t.test), t.kind, t.scoring) == (5, 3, "text", "normalised")
    ins = [e.input for e in t.train + t.test]
    assert len(set(ins)) == 8                                      # no example is both a demo and a query
    assert all(e.output == "t" + e.input[1:] for e in t.train + t.test)
    wider = task_from_bigbench(examples(20), "toy", Sampling(demos=5, queries=6, seed=1))
    assert wider.train == t.train and wider.test[:3] == t.test     # more queries extend, never reshuffle
    other = task_from_bigbench(examples(20), "toy", Sampling(demos=5, queries=3, seed=2))
    assert other.train != t.train


def test_all_the_rest_are_queries_by_default():
    t = task_from_bigbench(examples(12), "toy", Sampling(demos=10))
    assert len(t.test) == 2


@pytest.mark.parametrize("obj, message", [
    ({"train": []}, "missing 'examples'"),
    ({"examples": {}}, "examples: expected a list"),
    ({"examples": [{"input": "a"}]}, "examples[0]: missing 'target'"),
    ({"examples": [{"input": "a", "target": 3}]}, "examples[0].target: expected a string"),
    ({"examples": [{"input": " ", "target": "x"}]}, "examples[0].input: text is empty"),
    (examples(5), "5 examples; --demos 10 needs at least 11"),
])
def test_bad_files_name_the_problem(obj, message):
    with pytest.raises(TaskError, match=message.replace("[", r"\[").replace("]", r"\]")):
        task_from_bigbench(obj, "bad", Sampling(demos=10))


def test_list_targets_take_the_first():
    obj = {"examples": [{"input": f"q{i}", "target": [f"a{i}", "b"]} for i in range(3)]}
    t = task_from_bigbench(obj, "toy", Sampling(demos=1))
    assert t.train[0].output.startswith("a")


def test_load_task_tells_the_formats_apart(tmp_path):
    p = tmp_path / "bb.json"
    p.write_text(json.dumps(examples(15)))
    assert load_task(p, Sampling(demos=4, queries=2)).name == "bb"
    assert is_bigbench(p.read_bytes()) and not is_bigbench(b'{"train": [], "test": []}') and not is_bigbench(b"{")
    bad = tmp_path / "few.json"
    bad.write_text(json.dumps(examples(3)))
    with pytest.raises(TaskError, match=r"few.json: 3 examples"):
        load_task(bad)


def test_scoring_is_kept_through_the_json_form():
    t = task_from_bigbench(examples(4, lambda i: "(A)"), "toy", Sampling(demos=2))
    back = task_from_obj(t.to_json())
    assert back.scoring == "normalised" and back.test == t.test
    with pytest.raises(TaskError, match="scoring"):
        task_from_obj({**t.to_json(), "scoring": "fuzzy"})


def test_per_query_scores_use_the_normalisation():
    t = task_from_bigbench(examples(5, lambda i: ["(A)", "True", "24", "x y", "(B)"][i]), "toy", Sampling(demos=1, seed=0))
    targets = [e.output for e in t.test]
    loose = {"(A)": "A", "True": "true", "24": "24.0", "x y": "X  y.", "(B)": "(B) the second"}
    wrong = {"(A)": "(B)", "True": "not true", "24": "240", "x y": "xy", "(B)": "A"}
    assert score_each(t, Prediction(attempts=[[loose[x]] for x in targets])) == [True] * 4
    assert score_each(t, Prediction(attempts=[[wrong[x]] for x in targets])) == [False] * 4
    assert score(t, Prediction(attempts=[[loose[x]] for x in targets]))


@pytest.mark.skipif(not BBH.is_dir(), reason="needs ../shared/data/bbh")
def test_every_bbh_file_loads():
    for p in sorted(BBH.glob("*.json")):
        t = load_task(p, Sampling(demos=10, queries=4))
        assert len(t.train) == 10 and len(t.test) == 4, p.name


def test_ask_answers_a_bigbench_file_and_names_a_bad_one(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(examples(8, lambda i: "True" if i % 2 else "False")))
    bad.write_text(json.dumps({"examples": [{"input": "x"}] * 8}))
    out = subprocess.run([sys.executable, "-m", "controller.cli", "ask", str(good), str(bad), "--demos", "3",
                          "--queries", "2", "--model", "tiny", "--strategy", "zero-shot", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 1                                     # one file failed
    err = [line for line in out.stderr.splitlines() if line.startswith("tttc ask:")]
    assert err == [f"tttc ask: {bad}: examples[0]: missing 'target'"]
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["task"] == "good" and row["strategy"] == "zero-shot" and len(row["attempts"]) == 2
    assert row["cost"]["decide_s"] >= 0 and row["cost"]["wall_s"] >= row["cost"]["decide_s"]


def test_the_api_solves_a_bigbench_task(tmp_path, tiny_rt):
    from fastapi.testclient import TestClient

    from controller.api.server import create_app
    app = create_app(runtime=tiny_rt, threads=str(tmp_path / "t.sqlite"), db=f"sqlite:///{tmp_path / 'log.db'}")
    with TestClient(app) as client:
        body = {"task": {**examples(6, lambda i: "(A)"), "name": "bb"}, "strategy": "zero-shot", "demos": 3,
                "queries": 2}
        r = client.post("/v1/solve", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["task"] == "bb" and len(r.json()["attempts"]) == 2
        few = client.post("/v1/solve", json={"task": examples(2), "strategy": "icl"})   # demos capped at n - 1
        assert few.status_code == 200 and len(few.json()["attempts"]) == 1
        bad = client.post("/v1/solve", json={"task": {"examples": [{"input": "a", "target": 1}] * 3}})
        assert bad.status_code == 400 and bad.json()["error"]["code"] in ("invalid_task", "invalid_value")
