"""Word-level text families: case changes, word order, affixes, counting, arithmetic, and formatting."""
from __future__ import annotations

import random
from typing import Any, Callable

from .build import demo_task
from .registry import Split, family
from .words import COMMON


def _n(rng: random.Random) -> int:
    return rng.randint(5, 8)


def _phrase(rng: random.Random, lo: int = 2, hi: int = 5) -> str:
    return " ".join(rng.sample(COMMON, rng.randint(lo, hi)))


def _text(name: str, rule: Callable[[str], str], split: Split = "adapt", group: str = "word",
          sample: Callable[[random.Random], str] = _phrase, parts: tuple[str, ...] = ()) -> None:
    @family(name, "text", ("composition" if parts else "primitive", group), split, parts)
    def gen(rng: random.Random) -> dict[str, Any]:
        return demo_task(rng, sample, rule, _n(rng))


def _mixed_case(rng: random.Random) -> str:
    return " ".join(w.upper() if rng.random() < 0.5 else w.capitalize() for w in _phrase(rng).split())


_text("uppercase", str.upper)
_text("lowercase", str.lower, sample=_mixed_case)
_text("title_case", lambda s: " ".join(w.capitalize() for w in s.split()))
_text("reverse_words", lambda s: " ".join(s.split()[::-1]))
_text("initials", lambda s: "".join(w[0].upper() for w in s.split()))
_text("sort_words", lambda s: " ".join(sorted(s.split())))
_text("count_words", lambda s: str(len(s.split())), group="number", sample=lambda r: _phrase(r, 1, 8))
_text("first_word", lambda s: s.split()[0])
# held out: a composition of two adapt primitives that never appears together in adapt
_text("reverse_upper", lambda s: " ".join(s.split()[::-1]).upper(), split="heldout",
      parts=("reverse_words", "uppercase"))


def _affix(name: str, where: str) -> None:
    @family(name, "text", ("primitive", "word"), "adapt")
    def gen(rng: random.Random) -> dict[str, Any]:
        word = rng.choice(COMMON)
        rule = (lambda s: f"{word} {s}") if where == "prefix" else (lambda s: f"{s} {word}")
        return demo_task(rng, _phrase, rule, _n(rng))


_affix("prefix_word", "prefix")
_affix("suffix_word", "suffix")


@family("add_k", "text", ("primitive", "number"), "adapt")
def add_k(rng: random.Random) -> dict[str, Any]:
    k = rng.choice([i for i in range(-20, 51) if i not in (0, 1)])
    return demo_task(rng, lambda r: str(r.randint(0, 999)), lambda s: str(int(s) + k), _n(rng))


@family("double", "text", ("primitive", "number"), "adapt")
def double(rng: random.Random) -> dict[str, Any]:
    return demo_task(rng, lambda r: str(r.randint(0, 999)), lambda s: str(2 * int(s)), _n(rng))


@family("date_dmy", "text", ("primitive", "format"), "heldout")
def date_dmy(rng: random.Random) -> dict[str, Any]:
    """ISO dates to day/month/year, e.g. 2024-03-05 -> 05/03/2024; the separator is chosen per task."""
    sep = rng.choice("/.-")

    def sample(r: random.Random) -> str:
        return f"{r.randint(1950, 2049)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
    return demo_task(rng, sample, lambda s: sep.join(s.split("-")[::-1]), _n(rng))


@family("thousands_sep", "text", ("primitive", "format"), "heldout")
def thousands_sep(rng: random.Random) -> dict[str, Any]:
    """Group digits in threes, e.g. 1234567 -> 1,234,567; the separator (, . space _) is chosen per task."""
    sep = rng.choice([",", ".", " ", "_"])

    def sample(r: random.Random) -> str:
        return str(r.randint(10 ** r.randint(3, 8), 10 ** 9 - 1) if r.random() < 0.9 else r.randint(1000, 9999))
    return demo_task(rng, sample, lambda s: f"{int(s):,}".replace(",", sep), _n(rng))


@family("digit_sum", "text", ("primitive", "number"), "heldout")
def digit_sum(rng: random.Random) -> dict[str, Any]:
    return demo_task(rng, lambda r: str(r.randint(10, 99999)), lambda s: str(sum(map(int, s))), _n(rng))
