"""Held-out text families for an out-of-sample check of the learnability probe.

The probe (policies/features/learnability.py) was designed while looking at the `relations` and `lexical`
families, so its figures there are not out of sample. These families were written after that choice and collected once,
with every feature: letters doubled or dashed, words rotated or cut short, last letters, differences,
vowel counts, and a made-up label for a word's first letter.
"""
from __future__ import annotations

import random
from typing import Any

from .build import demo_task
from .registry import family
from .sampling import both_labels_shown, n_demos, n_labelled, some_words, two_labels
from .words import COMMON

VOWELS = frozenset("aeiou")


@family("double_letters", "text", ("primitive", "char"), "heldout")
def double_letters(rng: random.Random) -> dict[str, Any]:
    """Every letter written twice, e.g. cat -> ccaatt."""
    return demo_task(rng, lambda r: r.choice(COMMON), lambda s: "".join(c * 2 for c in s), n_demos(rng))


@family("dash_letters", "text", ("primitive", "char"), "heldout")
def dash_letters(rng: random.Random) -> dict[str, Any]:
    """A word's letters joined by dashes, e.g. cat -> c-a-t."""
    return demo_task(rng, lambda r: r.choice(COMMON), lambda s: "-".join(s), n_demos(rng))


@family("rotate_words", "text", ("primitive", "word"), "heldout")
def rotate_words(rng: random.Random) -> dict[str, Any]:
    """The first word moved to the end, e.g. one two three -> two three one."""
    def rule(s: str) -> str:
        w = s.split()
        return " ".join(w[1:] + w[:1])
    return demo_task(rng, lambda r: some_words(r, 3, 4), rule, n_demos(rng))


@family("truncate_words", "text", ("primitive", "word", "char"), "heldout")
def truncate_words(rng: random.Random) -> dict[str, Any]:
    """Each word cut to its first k letters (k = 2 or 3 per task), e.g. (k=3) garden table -> gar tab."""
    k = rng.randint(2, 3)

    def sample(r: random.Random) -> str:
        return " ".join(r.sample([w for w in COMMON if len(w) > k + 1], r.randint(2, 3)))
    return demo_task(rng, sample, lambda s: " ".join(w[:k] for w in s.split()), n_demos(rng))


@family("last_letters", "text", ("primitive", "char"), "heldout")
def last_letters(rng: random.Random) -> dict[str, Any]:
    """The last letter of each word, run together, e.g. red fox sun -> dxn."""
    return demo_task(rng, lambda r: some_words(r, 2, 4), lambda s: "".join(w[-1] for w in s.split()), n_demos(rng))


@family("subtract_pair", "text", ("primitive", "number"), "heldout")
def subtract_pair(rng: random.Random) -> dict[str, Any]:
    """The first number minus the second (never negative), e.g. 42 17 -> 25."""
    def sample(r: random.Random) -> str:
        a = r.randint(10, 99)
        return f"{a} {r.randint(1, a)}"

    def rule(s: str) -> str:
        a, b = map(int, s.split())
        return str(a - b)
    return demo_task(rng, sample, rule, n_demos(rng))


@family("count_vowels", "text", ("primitive", "number", "char"), "heldout")
def count_vowels(rng: random.Random) -> dict[str, Any]:
    """How many vowels (a, e, i, o, u) a phrase has, e.g. red fox -> 2."""
    return demo_task(rng, lambda r: some_words(r, 1, 3), lambda s: str(sum(c in VOWELS for c in s)), n_demos(rng))


@family("vowel_start_label", "text", ("primitive", "classification", "char"), "heldout")
def vowel_start_label(rng: random.Random) -> dict[str, Any]:
    """A word labelled by whether it starts with a vowel, with made-up label words, e.g. apple -> dax, tree -> wug."""
    labels = two_labels(rng)

    def rule(s: str) -> str:
        return labels[s[0] in VOWELS]
    starts = [w for w in COMMON if w[0] in VOWELS]
    return demo_task(rng, lambda r: r.choice(starts if r.random() < 0.5 else COMMON), rule, n_labelled(rng),
                     check=both_labels_shown(labels, rule))
