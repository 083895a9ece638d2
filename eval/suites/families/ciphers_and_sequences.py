"""Held-out text families of other kinds than formats, for an out-of-sample check of the router trained
before them: letter ciphers, reasoning over a list of numbers, number sequences, and labels
given by a hidden numeric or spelling property (made-up label words, as in the classification families).

The router they checked never saw these families; their outcomes are collected after it was trained.
"""
from __future__ import annotations

import random
import string
from typing import Any

from .build import demo_task
from .registry import family
from .sampling import both_labels_shown, n_demos, n_labelled, some_words, two_labels
from .words import COMMON


def shift_letters(text: str, k: int) -> str:
    """Each lowercase letter k places on in the alphabet, wrapping (z + 1 = a); other characters unchanged."""
    lower = string.ascii_lowercase
    return text.translate(str.maketrans(lower, lower[k % 26:] + lower[:k % 26]))


@family("caesar_shift", "text", ("primitive", "cipher"), "heldout")
def caesar_shift(rng: random.Random) -> dict[str, Any]:
    """Every letter moved k places on in the alphabet, k from 1 to 3 per task, e.g. (k=1) cab -> dbc."""
    k = rng.randint(1, 3)
    return demo_task(rng, lambda r: some_words(r, 1, 2), lambda s: shift_letters(s, k), n_demos(rng))


@family("max_of_list", "text", ("primitive", "number"), "heldout")
def max_of_list(rng: random.Random) -> dict[str, Any]:
    """The largest (or smallest, per task) of 3-5 numbers, e.g. 4 17 9 -> 17."""
    pick = max if rng.random() < 0.5 else min

    def sample(r: random.Random) -> str:
        return " ".join(str(x) for x in r.sample(range(1, 100), r.randint(3, 5)))
    return demo_task(rng, sample, lambda s: str(pick(int(x) for x in s.split())), n_demos(rng))


@family("next_in_sequence", "text", ("primitive", "number"), "heldout")
def next_in_sequence(rng: random.Random) -> dict[str, Any]:
    """The next term of an arithmetic progression, e.g. 3 7 11 15 -> 19 (each item its own start and step)."""
    def sample(r: random.Random) -> str:
        a, d = r.randint(0, 30), r.randint(1, 9)
        return " ".join(str(a + d * i) for i in range(4))

    def rule(s: str) -> str:
        x = [int(v) for v in s.split()]
        return str(x[-1] + x[-1] - x[-2])
    return demo_task(rng, sample, rule, n_demos(rng))


@family("parity_label", "text", ("primitive", "classification", "number"), "heldout")
def parity_label(rng: random.Random) -> dict[str, Any]:
    """A number labelled by whether it is even, with two made-up label words per task, e.g. 14 -> blick, 7 -> zorp."""
    labels = two_labels(rng)

    def rule(s: str) -> str:
        return labels[int(s) % 2]
    return demo_task(rng, lambda r: str(r.randint(1, 999)), rule, n_labelled(rng), check=both_labels_shown(labels, rule))


@family("length_label", "text", ("primitive", "classification", "word"), "heldout")
def length_label(rng: random.Random) -> dict[str, Any]:
    """A word labelled short (up to 4 letters) or long, with made-up label words, e.g. cat -> blick, window -> zorp."""
    labels = two_labels(rng)

    def rule(s: str) -> str:
        return labels[len(s) > 4]
    return demo_task(rng, lambda r: r.choice(COMMON), rule, n_labelled(rng), check=both_labels_shown(labels, rule))


@family("letter_count", "text", ("primitive", "number", "word"), "heldout")
def letter_count(rng: random.Random) -> dict[str, Any]:
    """How many times one letter (chosen per task) occurs in a phrase, e.g. (letter a) banana bread -> 4."""
    letter = rng.choice("aeiorst")
    return demo_task(rng, lambda r: some_words(r, 1, 3), lambda s: str(s.count(letter)), n_demos(rng),
                     check=lambda train, test: len({x.count(letter) for x in train}) > 1)


@family("alpha_position", "text", ("primitive", "number", "word"), "heldout")
def alpha_position(rng: random.Random) -> dict[str, Any]:
    """The alphabet position of a word's first letter, e.g. cat -> 3, zoo -> 26."""
    return demo_task(rng, lambda r: r.choice(COMMON), lambda s: str(ord(s[0]) - ord("a") + 1), n_demos(rng))


@family("dedupe_words", "text", ("primitive", "word"), "heldout")
def dedupesome_words(rng: random.Random) -> dict[str, Any]:
    """Repeated words dropped, first occurrences kept in order, e.g. red car red sun car -> red car sun."""
    def sample(r: random.Random) -> str:
        pool = r.sample(COMMON, r.randint(2, 3))
        return " ".join(r.choice(pool) for _ in range(r.randint(4, 6)))
    return demo_task(rng, sample, lambda s: " ".join(dict.fromkeys(s.split())), n_demos(rng),
                     check=lambda train, test: any(len(set(x.split())) < len(x.split()) for x in train))
