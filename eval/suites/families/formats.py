"""Held-out text families: formats, character-level rules and small arithmetic.

Why: the router is evaluated on families it never saw, and TTT's gains concentrated in the two
held-out format families (dates, digit grouping), so the outcome log had little else to learn "TTT
pays here" from. These add more rules of that kind (a format chosen per task, visible in every demo)
and some a small model is unlikely to learn either way (letters within words, sums).
"""
from __future__ import annotations

import random
from typing import Any

from .build import demo_task
from .registry import family
from .words import COMMON

MONTHS = ("January February March April May June July August September October November December").split()


def _n(rng: random.Random) -> int:
    return rng.randint(5, 8)


@family("time_24h", "text", ("primitive", "format"), "heldout")
def time_24h(rng: random.Random) -> dict[str, Any]:
    """12-hour clock to 24-hour, e.g. 3:05 PM -> 15:05; the output separator (: . h) is chosen per task."""
    sep = rng.choice([":", ".", "h"])

    def sample(r: random.Random) -> str:
        return f"{r.randint(1, 12)}:{r.randint(0, 59):02d} {r.choice(['AM', 'PM'])}"

    def rule(s: str) -> str:
        clock, half = s.split()
        h, m = clock.split(":")
        return f"{int(h) % 12 + (12 if half == 'PM' else 0):02d}{sep}{m}"
    return demo_task(rng, sample, rule, _n(rng))


@family("phone_format", "text", ("primitive", "format"), "heldout")
def phone_format(rng: random.Random) -> dict[str, Any]:
    """Ten digits to a phone number, e.g. 5551234567 -> (555) 123-4567; the style is chosen per task."""
    style = rng.choice(["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}"])

    def sample(r: random.Random) -> str:
        return str(r.randint(2_000_000_000, 9_999_999_999))
    return demo_task(rng, sample, lambda s: style.format(a=s[:3], b=s[3:6], c=s[6:]), _n(rng))


@family("zero_pad", "text", ("primitive", "format"), "heldout")
def zero_pad(rng: random.Random) -> dict[str, Any]:
    """Left-pad a number with zeros to a width chosen per task (5-7), e.g. 42 -> 00042."""
    width = rng.randint(5, 7)
    return demo_task(rng, lambda r: str(r.randint(0, 10 ** r.randint(1, 4) - 1)), lambda s: s.zfill(width), _n(rng))


@family("month_name", "text", ("primitive", "format"), "heldout")
def month_name(rng: random.Random) -> dict[str, Any]:
    """ISO dates spelled out, e.g. 2024-03-05 -> 5 March 2024 (or March 5, 2024; chosen per task)."""
    us = rng.random() < 0.5

    def sample(r: random.Random) -> str:
        return f"{r.randint(1950, 2049)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"

    def rule(s: str) -> str:
        y, m, d = s.split("-")
        name = MONTHS[int(m) - 1]
        return f"{name} {int(d)}, {y}" if us else f"{int(d)} {name} {y}"
    return demo_task(rng, sample, rule, _n(rng))


@family("join_words", "text", ("primitive", "format"), "heldout")
def join_words(rng: random.Random) -> dict[str, Any]:
    """Words joined into one identifier with a separator chosen per task, e.g. red car -> red_car."""
    sep = rng.choice(["_", "-", ".", "/"])
    return demo_task(rng, lambda r: " ".join(r.sample(COMMON, r.randint(2, 4))), lambda s: sep.join(s.split()), _n(rng))


@family("char_reverse", "text", ("primitive", "char"), "heldout")
def char_reverse(rng: random.Random) -> dict[str, Any]:
    """One word spelled backwards, e.g. garden -> nedrag: letters inside tokens."""
    return demo_task(rng, lambda r: r.choice(COMMON), lambda s: s[::-1], _n(rng))


@family("word_lengths", "text", ("primitive", "char"), "heldout")
def word_lengths(rng: random.Random) -> dict[str, Any]:
    """Each word's letter count, e.g. big garden -> 3 6."""
    return demo_task(rng, lambda r: " ".join(r.sample(COMMON, r.randint(1, 4))),
                     lambda s: " ".join(str(len(w)) for w in s.split()), _n(rng))


@family("sum_pair", "text", ("primitive", "number"), "heldout")
def sum_pair(rng: random.Random) -> dict[str, Any]:
    """Two numbers to their sum, e.g. 12 34 -> 46."""
    return demo_task(rng, lambda r: f"{r.randint(1, 60)} {r.randint(1, 60)}",
                     lambda s: str(sum(map(int, s.split()))), _n(rng))
