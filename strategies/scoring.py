"""When is an answer right: exact match, or exact match after the normalisation a BIG-Bench Hard user expects.

BBH targets are short and come in a few forms: an option letter `(A)`, `True`/`False`, `Yes`/`No`,
`valid`/`invalid`, a number, or a list of words. A model that answers `A` or `(A) 12/25/1937` for `(A)`,
`true` for `True`, `24.0` for `24`, or `Apple  banana` for `apple banana` has given the target's answer;
one that answers `(B)`, `not true` or `240` has not. The target's form decides the rule, so a free-text
target is never loosened beyond case, surrounding space and a final full stop.
"""
from __future__ import annotations

import math
import re
from typing import Any, Literal

Scoring = Literal["exact", "normalised"]

_OPTION_TARGET = re.compile(r"\(([A-Z])\)")
# "(A)", "(A) text", "A)", "A", "A. text", "Option A": the letter the answer starts with
_OPTION_ANSWER = re.compile(r"^(?:option\s+)?\(?([A-Z])(?:\)|\.|:|$|\s)", re.IGNORECASE)
_NUMBER = re.compile(r"^[-+]?\d[\d,]*(?:\.\d+)?$|^[-+]?\.\d+$")


def _plain(text: str) -> str:
    """Case-folded, inner whitespace collapsed, surrounding space, quotes and a final full stop removed."""
    text = " ".join(text.split()).strip().strip("\"'`").strip()
    return text[:-1].rstrip().casefold() if text.endswith(".") else text.casefold()


def as_number(text: str) -> float | None:
    """The value of a plain number (`24`, `-3.5`, `1,024`, `7.`); None for anything else."""
    text = text.strip().rstrip(".").strip()
    if not _NUMBER.match(text):
        return None
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def normalise(answer: str, target: str) -> str:
    """`answer` rewritten in `target`'s form where it has one: an option letter as `(X)`, a number as
    its value; anything else case-folded with whitespace collapsed."""
    if _OPTION_TARGET.fullmatch(target.strip()):
        m = _OPTION_ANSWER.match(answer.strip())
        return f"({m.group(1).upper()})" if m else _plain(answer)
    if as_number(target) is not None:
        value = as_number(answer)
        return repr(value) if value is not None and math.isfinite(value) else _plain(answer)
    return _plain(answer)


def _canonical_target(target: str) -> str:
    t = target.strip()
    if _OPTION_TARGET.fullmatch(t):
        return t
    value = as_number(t)
    return repr(value) if value is not None else _plain(t)


def matches(answer: Any, target: Any, scoring: Scoring = "exact") -> bool:
    """True when `answer` is `target`: equal values under "exact"; for text under "normalised", equal
    after `normalise` (grids and other values are always compared exactly)."""
    if scoring == "exact" or not (isinstance(answer, str) and isinstance(target, str)):
        return answer == target
    return normalise(answer, target) == _canonical_target(target)


def option_candidates(query: str) -> list[str]:
    """The option labels a multiple-choice query lists (`(A) ...` lines), in order; [] when it lists none."""
    labels = re.findall(r"^\s*\(([A-Z])\)", query, flags=re.MULTILINE)
    return [f"({label})" for label in dict.fromkeys(labels)]
