"""Specification of the invertible augmentations: transforms, views and their inverses."""
import random
import time

import pytest
from hypothesis import given, settings, strategies as st

from strategies.augment import D8, IDENTITY, TRANSFORMS, View, downscale2, fits, task_key, upscale2, views
from strategies.task import task_from_obj


def random_grid(h: int, w: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(10) for _ in range(w)] for _ in range(h)]


sides = st.integers(1, 30)
grids = st.builds(random_grid, sides, sides, st.integers(0, 2**32))
# a permutation of 1..9 with 0 in front: 0 is the background and stays fixed
colour_perms = st.permutations(list(range(1, 10))).map(lambda p: (0, *p))
geometric = st.sampled_from(D8)


def grid_task(n_train=3, seed=0, h=3, w=4):
    rng = random.Random(seed)
    ex = lambda: {"input": random_grid(h, w, rng.random()), "output": random_grid(w, h, rng.random())}  # noqa: E731
    return task_from_obj({"train": [ex() for _ in range(n_train)], "test": [ex(), {"input": random_grid(h, w, 7)}]})


def text_task(n_train=4):
    train = [{"input": f"word{i}", "output": f"WORD{i}"} for i in range(n_train)]
    return task_from_obj({"train": train, "test": [{"input": "hello"}]})


@given(grids, geometric)
def test_every_geometric_transform_inverts_exactly(g, name):
    fwd, inv = TRANSFORMS[name]
    assert inv(fwd(g)) == g


@given(grids.filter(lambda g: len(g) <= 15 and len(g[0]) <= 15))
def test_upscale2_inverts_exactly(g):
    assert downscale2(upscale2(g)) == g


@given(grids, geometric, colour_perms)
def test_view_invert_undoes_apply_value(g, name, perm):
    view = View.make(name, perm)
    assert view.invert(view.apply_value(g)) == g


@given(grids, colour_perms)
def test_colour_permutations_keep_background(g, perm):
    out = View.make("identity", perm).apply_value(g)
    assert all((a == 0) == (b == 0) for ra, rb in zip(g, out) for a, b in zip(ra, rb))


def test_colour_permutation_moving_background_is_refused():
    with pytest.raises(ValueError, match="keep 0"):
        View.make("identity", (1, 0, 2, 3, 4, 5, 6, 7, 8, 9))


def test_d8_transforms_are_eight_distinct_maps():
    g = random_grid(3, 4, 1)
    assert len({str(TRANSFORMS[name][0](g)) for name in D8}) == 8


def test_rot90_turns_clockwise():
    assert TRANSFORMS["rot90"][0]([[1, 2], [3, 4]]) == [[3, 1], [4, 2]]


def test_anti_transpose_reflects_across_the_anti_diagonal():
    assert TRANSFORMS["anti_transpose"][0]([[1, 2], [3, 4]]) == [[4, 2], [3, 1]]


@settings(max_examples=30)
@given(st.integers(0, 10_000), geometric, colour_perms)
def test_inverting_every_output_of_an_applied_task_recovers_the_outputs(seed, name, perm):
    task = grid_task(seed=seed)
    view = View.make(name, perm, tuple(random.Random(seed).sample(range(3), 3)))
    seen = view.apply(task)
    recovered = [view.invert(e.output) for e in seen.train]
    assert recovered == [task.train[i].output for i in view.order or range(3)]
    assert [view.invert(e.input) for e in seen.test] == [e.input for e in task.test]


def test_apply_reorders_demos():
    task = text_task(3)
    seen = View.make(order=(2, 0, 1)).apply(task)
    assert [e.input for e in seen.train] == ["word2", "word0", "word1"]


def test_apply_refuses_grid_views_on_text():
    with pytest.raises(ValueError, match="text task"):
        View.make("rot90").apply(text_task())


def test_invert_of_none_is_none():
    assert View.make("rot90").invert(None) is None


def test_invert_refuses_values_with_no_preimage():
    with pytest.raises(ValueError):
        View.make("rot90").invert("not a grid")
    with pytest.raises(ValueError):
        View.make("upscale2").invert([[1, 2], [3, 4]])   # not uniform 2x2 blocks
    with pytest.raises(ValueError):
        View.make("upscale2").invert([[1, 1, 1]])       # odd sides
    with pytest.raises(ValueError):
        View.make("identity", (0, 2, 1, 3, 4, 5, 6, 7, 8, 9)).invert([[12]])


def test_identity_view_is_identity_and_named_so():
    assert IDENTITY.is_identity and IDENTITY.name == "identity"
    assert not View.make("rot90").is_identity
    assert View.make("identity", tuple(range(10)), (0, 1)).is_identity   # trivial parts are dropped


def test_views_start_with_identity_and_are_deterministic_per_seed():
    task = grid_task()
    a, b = views(task, 8, seed=3), views(task, 8, seed=3)
    assert a[0] == IDENTITY and a == b
    assert a != views(task, 8, seed=4)


def test_views_give_distinct_transformed_tasks():
    task = grid_task()
    vs = views(task, 20, seed=0)
    assert len(vs) == 20
    assert len({task_key(v.apply(task)) for v in vs}) == 20


def test_first_eight_geometric_views_cover_d8():
    vs = views(grid_task(), 8, seed=0, colours=False, shuffle=False)
    assert sorted(v.transform for v in vs) == sorted(D8)


def test_views_drop_duplicates_of_symmetric_tasks():
    sym = [[1, 1], [1, 1]]
    task = task_from_obj({"train": [{"input": sym, "output": sym}], "test": [{"input": sym}]})
    assert views(task, 8, seed=0, colours=False, shuffle=False) == [IDENTITY]


def test_text_tasks_get_demo_shuffles_only():
    vs = views(text_task(4), 6, seed=0)
    assert len(vs) == 6
    assert all(v.transform == "identity" and v.colours is None for v in vs)
    assert all(v.order is not None for v in vs[1:])


def test_text_task_with_two_demos_has_two_views():
    assert len(views(text_task(2), 8, seed=0)) == 2


def test_size_views_drop_grids_over_30():
    small, big = grid_task(h=3, w=4), grid_task(h=16, w=16)
    assert any(v.transform == "upscale2" for v in views(small, 30, seed=0, size=True))
    big_views = views(big, 30, seed=0, size=True)
    assert all(v.transform != "upscale2" for v in big_views)
    assert all(fits(v.apply(big)) for v in big_views)


def test_views_of_a_large_task_are_fast():
    task = grid_task(n_train=10, h=30, w=30)
    start = time.perf_counter()
    vs = views(task, 16, seed=0)
    [v.apply(task) for v in vs]
    assert time.perf_counter() - start < 1.0
