"""Samplers the later text families share: demo counts, random phrases, made-up label pairs."""
from __future__ import annotations

import random
from typing import Any, Callable

from .classify import nonce_word
from .words import COMMON


def n_demos(rng: random.Random) -> int:
    return rng.randint(5, 8)


def n_labelled(rng: random.Random) -> int:
    return rng.randint(6, 10)   # as many as the classification families show


def some_words(rng: random.Random, lo: int, hi: int) -> str:
    """lo to hi distinct common words, space-separated."""
    return " ".join(rng.sample(COMMON, rng.randint(lo, hi)))


def two_labels(rng: random.Random) -> tuple[str, str]:
    """Two distinct made-up label words, drawn per task as the classification families draw theirs."""
    a = nonce_word(rng)
    b = nonce_word(rng)
    while b == a:
        b = nonce_word(rng)
    return a, b


def both_labels_shown(labels: tuple[str, str], rule: Callable[[Any], str]) -> Callable[[list[Any], Any], bool]:
    """A check that the demonstrations show both labels (otherwise the rule cannot be inferred)."""
    return lambda train, test: {rule(x) for x in train} == set(labels)
