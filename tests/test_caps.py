"""Answer caps: the output shape the demonstrations agree on, and the token cap it gives."""
from types import SimpleNamespace

from strategies.runtime.caps import answer_cap, expected_shape
from strategies.serialize import parse_answer, render_answer
from strategies.task import Example, Task

chars = SimpleNamespace(encode=list)   # one token per character


def grid(r, c, v=1):
    return [[v] * c for _ in range(r)]


def task(pairs, kind="grid"):
    return Task(kind=kind, train=tuple(Example(input=i, output=o) for i, o in pairs), test=(Example(input=grid(1, 1)),))


def test_expected_shape_follows_the_rule_every_demo_agrees_on():
    assert expected_shape(task([(grid(2, 3), grid(2, 3)), (grid(4, 4), grid(4, 4))]), grid(5, 6)) == (5, 6)
    assert expected_shape(task([(grid(2, 3), grid(3, 3)), (grid(4, 4), grid(3, 3))]), grid(5, 6)) == (3, 3)
    assert expected_shape(task([(grid(2, 3), grid(3, 2)), (grid(4, 5), grid(5, 4))]), grid(5, 6)) == (6, 5)
    assert expected_shape(task([(grid(2, 3), grid(4, 9)), (grid(1, 1), grid(2, 3))]), grid(5, 6)) == (10, 18)
    # square demos fit "same shape", "constant", "transposed" and "scaled by 1": the largest of their answers
    assert expected_shape(task([(grid(3, 3), grid(3, 3)), (grid(3, 3, 2), grid(3, 3))]), grid(2, 5)) == (5, 5)
    # no single rule: the demos disagree
    assert expected_shape(task([(grid(2, 3), grid(2, 3)), (grid(4, 4), grid(1, 2))]), grid(5, 6)) is None
    assert expected_shape(task([("ab", "AB")], kind="text"), "cd") is None


def test_a_shaped_cap_fits_the_expected_answer_and_one_more_row_only():
    t = task([(grid(10, 10), grid(10, 10, 2)), (grid(10, 10, 3), grid(10, 10, 4))])
    cap = answer_cap(t, grid(10, 10), chars)
    right = render_answer(grid(10, 10), "grid")
    assert len(right) <= cap                                     # the right-shaped answer and its end marker fit
    assert len(render_answer(grid(11, 10), "grid")) <= cap      # so does one more row
    cut = render_answer(grid(14, 10), "grid")[:cap]              # a view repeating rows is cut after that
    assert parse_answer(cut, "grid") != grid(10, 10) and len(cut) < len(render_answer(grid(14, 10), "grid"))


def test_without_a_shape_rule_the_cap_grows_from_the_largest_demo_answer():
    t = task([(grid(2, 2), grid(3, 3)), (grid(4, 4), grid(2, 2))])
    # the 3x3 answer is 14 characters; the query has 4x the cells of its demo's input: 56, +25%, +8
    assert answer_cap(t, grid(4, 4), chars) == 78
