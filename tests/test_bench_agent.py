"""The agent benchmark's task selection (its server phases are benchmarks, run by `make bench`)."""
from eval.bench_agent import _one_per_family
from eval.suites.families.registry import make_task


def test_one_per_family_takes_each_family_once_before_any_twice():
    tasks = [make_task(f, s) for f in ("mask_and", "mask_or", "symmetry_complete") for s in (1, 2, 3)]
    picked = _one_per_family(tasks)
    assert [t.name.rsplit("-", 1)[0] for t in picked[:3]] == ["mask_and", "mask_or", "symmetry_complete"]
    assert [t.name for t in picked[3:6]] == ["mask_and-2", "mask_or-2", "symmetry_complete-2"]
    assert sorted(t.name for t in picked) == sorted(t.name for t in tasks)


def test_negative_turn_counts_are_refused_before_any_server_starts(capsys):
    import pytest

    from eval.bench_agent import main
    with pytest.raises(SystemExit):
        main(["--out", "unused.json", "--icl-grids", "-1"])
    assert "--icl-turns and --icl-grids count turns" in capsys.readouterr().err
