"""Held-out text families for an out-of-sample check of a router trained before them.

Kinds no earlier family has: a made-up phrase lexicon to compose (translation with word order swapped),
comparing two numbers, a hidden keyword deciding a label, picking the k-th letter, multiplying, sorting
numbers, sorting a word's letters, and reading one field out of a key=value record.

That router never saw these families; their outcomes are collected after it was trained.
"""
from __future__ import annotations

import random
from typing import Any

from .build import demo_task
from .classify import distinct_nonce_words
from .registry import family
from .sampling import both_labels_shown, n_demos, n_labelled, two_labels
from .words import COMMON


@family("phrase_translate", "text", ("composition", "mapping"), "heldout")
def phrase_translate(rng: random.Random) -> dict[str, Any]:
    """Two-word phrases in a made-up language, word order swapped, e.g. red car -> blick zorp (car -> blick,
    red -> zorp); the test phrase is a new pair of words the demonstrations each translated."""
    adjectives = rng.sample(("red", "big", "old", "new", "cold", "fast", "dark", "small"), 3)
    nouns = rng.sample(("car", "dog", "tree", "house", "boat", "bird", "lamp", "road"), 3)
    lexicon = dict(zip(adjectives + nouns, distinct_nonce_words(rng, 6)))

    def rule(s: str) -> str:
        adj, noun = s.split()
        return f"{lexicon[noun]} {lexicon[adj]}"

    def seen_words(train: list[str], test: str) -> bool:
        shown = {w for x in train for w in x.split()}
        return set(test.split()) <= shown
    return demo_task(rng, lambda r: f"{r.choice(adjectives)} {r.choice(nouns)}", rule, rng.randint(5, 7),
                     check=seen_words)


@family("greater_label", "text", ("primitive", "classification", "number"), "heldout")
def greater_label(rng: random.Random) -> dict[str, Any]:
    """Two numbers labelled by whether the first is the larger, with made-up label words, e.g. 71 38 -> blick."""
    labels = two_labels(rng)

    def sample(r: random.Random) -> str:
        a, b = r.sample(range(1, 100), 2)
        return f"{a} {b}"

    def rule(s: str) -> str:
        a, b = (int(x) for x in s.split())
        return labels[a > b]
    return demo_task(rng, sample, rule, n_labelled(rng), check=both_labels_shown(labels, rule))


@family("keyword_label", "text", ("primitive", "classification", "word"), "heldout")
def keyword_label(rng: random.Random) -> dict[str, Any]:
    """A phrase labelled by whether it holds one hidden word (chosen per task), with made-up label words,
    e.g. (keyword rain) cold rain today -> blick."""
    labels = two_labels(rng)
    keyword = rng.choice(COMMON)

    def sample(r: random.Random) -> str:
        words = r.sample([w for w in COMMON if w != keyword], r.randint(2, 4))
        if r.random() < 0.5:
            words[r.randrange(len(words))] = keyword
        return " ".join(words)

    def rule(s: str) -> str:
        return labels[keyword in s.split()]

    def inferable(train: list[str], test: str) -> bool:   # both labels, and the keyword shown twice
        return both_labels_shown(labels, rule)(train, test) and sum(keyword in x.split() for x in train) >= 2
    return demo_task(rng, sample, rule, n_labelled(rng), check=inferable)


@family("char_at", "text", ("primitive", "char"), "heldout")
def char_at(rng: random.Random) -> dict[str, Any]:
    """The k-th letter of a word, k from 2 to 3 per task, e.g. (k=2) apple -> p."""
    k = rng.randint(2, 3)
    return demo_task(rng, lambda r: r.choice([w for w in COMMON if len(w) > k]), lambda s: s[k - 1], n_demos(rng),
                     check=lambda train, test: len({x[k - 1] for x in train}) > 2)


@family("multiply_pair", "text", ("primitive", "number"), "heldout")
def multiply_pair(rng: random.Random) -> dict[str, Any]:
    """The product of two small numbers, e.g. 7 8 -> 56."""
    def sample(r: random.Random) -> str:
        return f"{r.randint(2, 12)} {r.randint(2, 12)}"
    return demo_task(rng, sample, lambda s: str(int(s.split()[0]) * int(s.split()[1])), n_demos(rng))


@family("sort_numbers", "text", ("primitive", "number"), "heldout")
def sort_numbers(rng: random.Random) -> dict[str, Any]:
    """3-5 numbers sorted, ascending or descending per task, e.g. 42 7 19 -> 7 19 42."""
    descending = rng.random() < 0.5

    def sample(r: random.Random) -> str:
        return " ".join(str(x) for x in r.sample(range(1, 100), r.randint(3, 5)))
    return demo_task(rng, sample, lambda s: " ".join(str(x) for x in sorted((int(v) for v in s.split()),
                                                                            reverse=descending)), n_demos(rng))


@family("sort_letters", "text", ("primitive", "char"), "heldout")
def sort_letters(rng: random.Random) -> dict[str, Any]:
    """A word's letters in alphabetical order, e.g. house -> ehosu."""
    return demo_task(rng, lambda r: r.choice([w for w in COMMON if 3 <= len(w) <= 7]),
                     lambda s: "".join(sorted(s)), n_demos(rng))


RECORD_KEYS = ("name", "city", "colour", "pet")


@family("record_field", "text", ("primitive", "extraction"), "heldout")
def record_field(rng: random.Random) -> dict[str, Any]:
    """One field of a key=value record, the key chosen per task and the fields in random order,
    e.g. (key city) pet=dog city=rome name=ana -> rome."""
    key = rng.choice(RECORD_KEYS)
    values = {"name": ("ana", "tom", "li", "omar", "eva", "raj", "mia", "leo"),
              "city": ("rome", "oslo", "lima", "kyiv", "pune", "cork", "nice", "bonn"),
              "colour": ("red", "blue", "green", "pink", "grey", "gold", "teal", "tan"),
              "pet": ("dog", "cat", "fish", "hen", "frog", "crab", "owl", "mule")}

    def sample(r: random.Random) -> str:
        keys = r.sample(RECORD_KEYS, 3 if r.random() < 0.5 else 4)
        if key not in keys:
            keys[r.randrange(len(keys))] = key
        return " ".join(f"{k}={r.choice(values[k])}" for k in keys)

    def rule(s: str) -> str:
        return dict(item.split("=") for item in s.split())[key]

    def key_position(s: str) -> int:
        return [item.split("=")[0] for item in s.split()].index(key)
    # the key's field moves between demonstrations, so its position does not give the rule away
    return demo_task(rng, sample, rule, n_demos(rng), check=lambda train, test: len({key_position(x) for x in train}) > 1)
