"""BBH answer normalisation: the target's form decides the rule, and near misses stay wrong."""
import pytest

from strategies.scoring import matches, normalise, option_candidates


@pytest.mark.parametrize("answer, target", [
    ("(A)", "(A)"), ("A", "(A)"), ("a)", "(A)"), ("(A) 12/25/1937", "(A)"), ("A. twelve", "(A)"), ("Option C", "(C)"),
    ("true", "True"), ("FALSE.", "False"), ("valid", "valid"), ("Yes", "yes"),
    ("24.0", "24"), ("1,024", "1024"), ("-11520", "-11520"),
    ("Apple  banana.", "apple banana"), ("] ]", "] ]"), (" ) > ", ") >"),
])
def test_equal_after_normalisation(answer, target):
    assert matches(answer, target, "normalised")


@pytest.mark.parametrize("answer, target", [
    ("(B)", "(A)"), ("B", "(A)"), ("Apple", "(A)"), ("not true", "True"), ("invalid", "valid"),
    ("240", "24"), ("24 apples", "24"), ("]]", "] ]"), ("banana apple", "apple banana"), ("", "(A)"),
])
def test_near_misses_stay_wrong(answer, target):
    assert not matches(answer, target, "normalised")


def test_exact_scoring_is_untouched():
    assert not matches("true", "True") and matches("True", "True")
    assert matches([[1]], [[1]], "normalised") and not matches([[1]], [[2]], "normalised")


def test_normalise_writes_the_targets_form():
    assert normalise("b) foo", "(A)") == "(B)" and normalise("7.50", "3") == "7.5"


def test_options_are_read_from_the_query():
    q = "Which?\nOptions:\n(A) one\n(B) two\n(C) three"
    assert option_candidates(q) == ["(A)", "(B)", "(C)"]
    assert option_candidates("no options here (A) inline") == []
