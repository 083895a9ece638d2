"""eval/strategy_costs.py: per-strategy accuracy, seconds and TTT steps over exported outcome logs."""
import json

import pytest

from eval.strategy_costs import main, read_rows, summarise


def row(strategy, correct, wall_s, steps=0, grid=False, suite="heldout"):
    return {"strategy": strategy, "correct": correct, "wall_s": wall_s, "suite": suite, "family": "f",
            "features": {"is_grid": 1.0 if grid else 0.0}, "cost": {"steps": steps},
            "tokens_trained": 100 * steps}


def write(tmp_path, rows, name="log.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(p)


def test_summary_counts_accuracy_seconds_and_the_steps_taken(tmp_path):
    rows = [row("icl", True, 1.0), row("icl", False, 3.0), row("ttt", True, 20.0, 4),
            row("ttt", True, 30.0, 6, grid=True), row("ttt", False, 40.0, 4)]
    s = summarise(read_rows([write(tmp_path, rows)]))["all"]
    assert s["icl"]["accuracy"] == 0.5 and s["icl"]["mean_s"] == 2.0 and s["icl"]["mean_steps"] == 0
    assert s["ttt"]["tasks"] == 3 and s["ttt"]["accuracy"] == pytest.approx(0.667)
    assert s["ttt"]["steps"] == {4: 2, 6: 1} and s["ttt"]["median_s"] == 30.0
    assert s["ttt"]["mean_tokens_trained"] == round(1400 / 3)
    by_kind = summarise(read_rows([write(tmp_path, rows)]), "kind")
    assert by_kind["grid"]["ttt"]["tasks"] == 1 and by_kind["text"]["ttt"]["tasks"] == 2


def test_cli_writes_json_and_names_a_bad_line(tmp_path, capsys):
    good = write(tmp_path, [row("icl", True, 1.0)])
    out = tmp_path / "s.json"
    assert main([good, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["summary"]["all"]["icl"]["tasks"] == 1
    assert "| all | icl | 1 |" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row("icl", True, 1.0)) + "\n{\"strategy\": \"icl\"}\n")
    with pytest.raises(SystemExit, match=r"bad.jsonl:2: not an exported outcome row"):
        main([str(bad)])
