"""Held-out text families for an out-of-sample check of the routers trained before them.

Kinds again unlike the earlier families: spelling inside words, number words both ways, a numeric range
deciding a made-up label, counting distinct letters, picking the longest word, remainders, and case
alternating word by word. Collected after those routers were trained, so their figures on them are out of
sample.
"""
from __future__ import annotations

import random
from typing import Any

from .build import demo_task
from .registry import family
from .sampling import both_labels_shown, n_demos, n_labelled, some_words, two_labels
from .words import COMMON

NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                "fifteen sixteen seventeen eighteen nineteen twenty").split()


@family("reverse_each_word", "text", ("primitive", "char"), "heldout")
def reverse_each_word(rng: random.Random) -> dict[str, Any]:
    """Each word spelled backwards, the words kept in order, e.g. red car -> der rac."""
    return demo_task(rng, lambda r: some_words(r, 2, 3), lambda s: " ".join(w[::-1] for w in s.split()), n_demos(rng))


@family("alternate_case", "text", ("primitive", "word"), "heldout")
def alternate_case(rng: random.Random) -> dict[str, Any]:
    """Every other word in capitals, starting with the first (or second, per task), e.g. one two three -> ONE two THREE."""
    start = rng.randint(0, 1)

    def rule(s: str) -> str:
        return " ".join(w.upper() if i % 2 == start else w for i, w in enumerate(s.split()))
    return demo_task(rng, lambda r: some_words(r, 3, 4), rule, n_demos(rng))


@family("range_label", "text", ("primitive", "classification", "number"), "heldout")
def range_label(rng: random.Random) -> dict[str, Any]:
    """A number labelled by whether it lies in a hidden range (per task), with made-up label words,
    e.g. (range 30-60) 42 -> blick, 75 -> zorp."""
    labels = two_labels(rng)
    lo = rng.randint(10, 50)
    hi = lo + rng.randint(20, 40)

    def rule(s: str) -> str:
        return labels[lo <= int(s) <= hi]

    def inferable(train: list[str], test: str) -> bool:   # both labels, and numbers on both sides of the range
        xs = [int(x) for x in train]
        return both_labels_shown(labels, rule)(train, test) and min(xs) < lo and max(xs) > hi
    return demo_task(rng, lambda r: str(r.randint(1, 99)), rule, n_labelled(rng), check=inferable)


@family("word_to_number", "text", ("primitive", "number", "word"), "heldout")
def word_to_number(rng: random.Random) -> dict[str, Any]:
    """A number word as digits, e.g. seventeen -> 17."""
    return demo_task(rng, lambda r: r.choice(NUMBER_WORDS), lambda s: str(NUMBER_WORDS.index(s)), n_demos(rng))


@family("number_to_word", "text", ("primitive", "number", "word"), "heldout")
def number_to_word(rng: random.Random) -> dict[str, Any]:
    """A number from 0 to 20 spelled out, e.g. 14 -> fourteen."""
    return demo_task(rng, lambda r: str(r.randint(0, 20)), lambda s: NUMBER_WORDS[int(s)], n_demos(rng))


@family("distinct_letters", "text", ("primitive", "number", "char"), "heldout")
def distinct_letters(rng: random.Random) -> dict[str, Any]:
    """How many different letters a word has, e.g. banana -> 3."""
    return demo_task(rng, lambda r: r.choice(COMMON), lambda s: str(len(set(s))), n_demos(rng),
                     check=lambda train, test: any(len(set(x)) < len(x) for x in train))


@family("longest_word", "text", ("primitive", "word"), "heldout")
def longest_word(rng: random.Random) -> dict[str, Any]:
    """The longest of 3-4 words of different lengths, e.g. cat window sun -> window."""
    def sample(r: random.Random) -> str:
        while True:
            words = r.sample(COMMON, r.randint(3, 4))
            if len({len(w) for w in words}) == len(words):
                return " ".join(words)
    return demo_task(rng, sample, lambda s: max(s.split(), key=len), n_demos(rng))


@family("mod_k", "text", ("primitive", "number"), "heldout")
def mod_k(rng: random.Random) -> dict[str, Any]:
    """The remainder of a number divided by k (3 to 7 per task), e.g. (k=5) 23 -> 3."""
    k = rng.randint(3, 7)
    return demo_task(rng, lambda r: str(r.randint(k + 1, 99)), lambda s: str(int(s) % k), rng.randint(6, 8),
                     check=lambda train, test: len({int(x) % k for x in train}) > 2)
