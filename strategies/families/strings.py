"""Held-out text families: more formats, units, names and letter-level rules.

Why: the router's figures moved most when the outcome log gained families it had never seen
(30 -> 38 families raised its cross-validated APGR 0.69 -> 0.79), and these are scored before the router
is retrained on them, as an out-of-sample check. They mix rules TTT should learn from the demos (a
format chosen per task), rules ICL already gets (the last word), and letter-level rules a 270M model
is unlikely to get either way (dropping vowels).
"""
from __future__ import annotations

import random
from typing import Any

from .build import demo_task
from .registry import family
from .words import COMMON

FIRST = ("anna ben carla dev emma farid gina hugo ines jon kira liam maya nico olga paul rosa sam tara "
         "umar vera will yara zoe").split()
LAST = ("adams baker chen diaz evans fischer garcia hill ito jones khan lopez meyer novak okafor patel "
        "quinn rossi silva tanaka ueda varga weber young zhou").split()
UNITS = {"km -> m": ("km", "m", 1000), "h -> min": ("h", "min", 60), "kg -> g": ("kg", "g", 1000),
         "min -> s": ("min", "s", 60), "ft -> in": ("ft", "in", 12), "day -> h": ("day", "h", 24)}


def _n(rng: random.Random) -> int:
    return rng.randint(5, 8)


def ordinal(n: int) -> str:
    """1 -> 1st, 2 -> 2nd, 11 -> 11th, 23 -> 23rd."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def money(cents: int, style: str) -> str:
    """Cents in a currency style: 'us' $1,234.50, 'eu' 1.234,50 EUR, 'plain' 1234.50."""
    whole, frac = divmod(cents, 100)
    if style == "us":
        return f"${whole:,}.{frac:02d}"
    if style == "eu":
        return f"{whole:,}".replace(",", ".") + f",{frac:02d} EUR"
    return f"{whole}.{frac:02d}"


def drop_vowels(word: str) -> str:
    return "".join(c for c in word if c not in "aeiou")


@family("ordinal_suffix", "text", ("primitive", "number"), "heldout")
def ordinal_suffix(rng: random.Random) -> dict[str, Any]:
    """A number to its English ordinal, e.g. 22 -> 22nd, 13 -> 13th."""
    return demo_task(rng, lambda r: str(r.randint(1, 120)), lambda s: ordinal(int(s)), _n(rng))


@family("currency_format", "text", ("primitive", "format"), "heldout")
def currency_format(rng: random.Random) -> dict[str, Any]:
    """An amount in cents to money, e.g. 123450 -> $1,234.50; the style is chosen per task."""
    style = rng.choice(["us", "eu", "plain"])
    return demo_task(rng, lambda r: str(r.randint(100, 999_999)), lambda s: money(int(s), style), _n(rng))


@family("name_swap", "text", ("primitive", "format"), "heldout")
def name_swap(rng: random.Random) -> dict[str, Any]:
    """A first and last name rewritten, e.g. anna baker -> Baker, Anna (or BAKER A.; chosen per task)."""
    style = rng.choice(["comma", "initial"])

    def rule(s: str) -> str:
        first, last = s.split()
        return f"{last.title()}, {first.title()}" if style == "comma" else f"{last.upper()} {first[0].upper()}."
    return demo_task(rng, lambda r: f"{r.choice(FIRST)} {r.choice(LAST)}", rule, _n(rng))


@family("email_build", "text", ("composition", "format"), "heldout")
def email_build(rng: random.Random) -> dict[str, Any]:
    """A name to an address at a domain chosen per task, e.g. anna baker -> a.baker@acme.org."""
    domain = rng.choice(["acme.org", "mail.net", "corp.io", "uni.edu"])
    initial = rng.random() < 0.5

    def rule(s: str) -> str:
        first, last = s.split()
        return f"{first[0] if initial else first}.{last}@{domain}"
    return demo_task(rng, lambda r: f"{r.choice(FIRST)} {r.choice(LAST)}", rule, _n(rng))


@family("unit_convert", "text", ("primitive", "number"), "heldout")
def unit_convert(rng: random.Random) -> dict[str, Any]:
    """A quantity to a smaller unit chosen per task, e.g. 3 km -> 3000 m, 2 h -> 120 min."""
    src, dst, factor = UNITS[rng.choice(sorted(UNITS))]
    return demo_task(rng, lambda r: f"{r.randint(1, 12)} {src}",
                     lambda s: f"{int(s.split()[0]) * factor} {dst}", _n(rng))


@family("last_word", "text", ("primitive", "word"), "heldout")
def last_word(rng: random.Random) -> dict[str, Any]:
    """The last word of a phrase, e.g. red big car -> car (the adapt families have first_word)."""
    return demo_task(rng, lambda r: " ".join(r.sample(COMMON, r.randint(2, 5))), lambda s: s.split()[-1], _n(rng))


@family("vowel_drop", "text", ("primitive", "char"), "heldout")
def vowel_drop(rng: random.Random) -> dict[str, Any]:
    """A word without its vowels, e.g. garden -> grdn: letters inside tokens."""
    words = [w for w in COMMON if drop_vowels(w) not in ("", w)]
    return demo_task(rng, lambda r: r.choice(words), drop_vowels, _n(rng))


@family("bracket_words", "text", ("primitive", "format"), "heldout")
def bracket_words(rng: random.Random) -> dict[str, Any]:
    """Every word wrapped in brackets of a kind chosen per task, e.g. red car -> [red] [car]."""
    left, right = rng.choice(["[]", "()", "<>", "{}", "**"])
    return demo_task(rng, lambda r: " ".join(r.sample(COMMON, r.randint(1, 4))),
                     lambda s: " ".join(f"{left}{w}{right}" for w in s.split()), _n(rng))
