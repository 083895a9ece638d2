"""Held-out text families of conversions: case styles, temperatures, percentages, dates, plurals, word order.

A router was trained on every family registered before this file; these were
collected after, so its figures on them are out of sample (families it never saw). The same mix as
before: formats chosen per task, small arithmetic, word order and spelling rules.
"""
from __future__ import annotations

import random
from typing import Any

from .build import demo_task
from .formats import MONTHS
from .registry import family
from .words import COMMON


def _n(rng: random.Random) -> int:
    return rng.randint(5, 8)


def plural(word: str) -> str:
    """English regular plurals: city -> cities, box -> boxes, car -> cars (irregular nouns ignored)."""
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def camel(words: list[str], upper_first: bool) -> str:
    head = words[0].title() if upper_first else words[0]
    return head + "".join(w.title() for w in words[1:])


@family("snake_to_camel", "text", ("primitive", "format"), "heldout")
def snake_to_camel(rng: random.Random) -> dict[str, Any]:
    """snake_case to camelCase (or PascalCase, chosen per task), e.g. big_red_car -> bigRedCar."""
    upper = rng.random() < 0.5
    return demo_task(rng, lambda r: "_".join(r.sample(COMMON, r.randint(2, 4))),
                     lambda s: camel(s.split("_"), upper), _n(rng))


@family("swap_halves", "text", ("primitive", "word"), "heldout")
def swap_halves(rng: random.Random) -> dict[str, Any]:
    """The second half of an even-length phrase before the first, e.g. a b c d -> c d a b."""
    def rule(s: str) -> str:
        w = s.split()
        return " ".join(w[len(w) // 2:] + w[:len(w) // 2])
    return demo_task(rng, lambda r: " ".join(r.sample(COMMON, 2 * r.randint(1, 3))), rule, _n(rng))


@family("celsius_to_f", "text", ("primitive", "number"), "heldout")
def celsius_to_f(rng: random.Random) -> dict[str, Any]:
    """Whole Celsius (multiples of 5) to Fahrenheit, e.g. 20 C -> 68 F."""
    return demo_task(rng, lambda r: f"{5 * r.randint(-8, 20)} C", lambda s: f"{int(s.split()[0]) * 9 // 5 + 32} F",
                     _n(rng))


@family("percent_format", "text", ("primitive", "format"), "heldout")
def percent_format(rng: random.Random) -> dict[str, Any]:
    """A fraction in thousandths to a percentage, e.g. 0.125 -> 12.5%."""
    def rule(s: str) -> str:
        tenths = round(float(s) * 1000)
        whole, frac = divmod(tenths, 10)
        return f"{whole}%" if frac == 0 else f"{whole}.{frac}%"
    return demo_task(rng, lambda r: f"{r.randint(1, 999) / 1000:.3f}", rule, _n(rng))


@family("repeat_words", "text", ("primitive", "word"), "heldout")
def repeat_words(rng: random.Random) -> dict[str, Any]:
    """Every word said twice (or three times, chosen per task), e.g. red car -> red red car car."""
    times = rng.choice([2, 3])
    return demo_task(rng, lambda r: " ".join(r.sample(COMMON, r.randint(1, 3))),
                     lambda s: " ".join(" ".join([w] * times) for w in s.split()), _n(rng))


@family("month_abbrev", "text", ("primitive", "format"), "heldout")
def month_abbrev(rng: random.Random) -> dict[str, Any]:
    """A month's three-letter abbreviation, in a case chosen per task, e.g. September -> Sep (or SEP)."""
    upper = rng.random() < 0.5
    return demo_task(rng, lambda r: r.choice(MONTHS), lambda s: s[:3].upper() if upper else s[:3], _n(rng))


@family("date_iso", "text", ("primitive", "format"), "heldout")
def date_iso(rng: random.Random) -> dict[str, Any]:
    """A spelled-out date to ISO, e.g. 5 March 2024 -> 2024-03-05 (month_name's rule backwards)."""
    def sample(r: random.Random) -> str:
        return f"{r.randint(1, 28)} {r.choice(MONTHS)} {r.randint(1950, 2049)}"

    def rule(s: str) -> str:
        d, m, y = s.split()
        return f"{y}-{MONTHS.index(m) + 1:02d}-{int(d):02d}"
    return demo_task(rng, sample, rule, _n(rng))


@family("plural_nouns", "text", ("primitive", "char"), "heldout")
def plural_nouns(rng: random.Random) -> dict[str, Any]:
    """A noun's regular plural, e.g. city -> cities, box -> boxes."""
    return demo_task(rng, lambda r: r.choice(COMMON), plural, _n(rng))
