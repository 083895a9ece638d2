"""Few-shot classification families: members of hidden categories map to made-up label words drawn per task."""
from __future__ import annotations

import random
from typing import Any

from .registry import Split, family
from .words import CATEGORIES_A, CATEGORIES_B, PHRASES, SYLLABLES_CODA, SYLLABLES_NUC, SYLLABLES_ON


def nonce_word(rng: random.Random) -> str:
    """A pronounceable made-up word such as 'blick' or 'zorp'."""
    word = "".join(rng.choice(SYLLABLES_ON) + rng.choice(SYLLABLES_NUC) for _ in range(rng.randint(1, 2)))
    return word + rng.choice(SYLLABLES_CODA)


def _labels(rng: random.Random, k: int, pool: dict[str, tuple[str, ...]], misleading: bool) -> list[str]:
    """k distinct labels: nonce words, or (misleading) names of other categories, so priors point the wrong way."""
    if misleading:
        return rng.sample(sorted(pool), k)
    return distinct_nonce_words(rng, k)


def distinct_nonce_words(rng: random.Random, k: int) -> list[str]:
    """k different made-up words."""
    words: list[str] = []
    while len(words) < k:
        w = nonce_word(rng)
        if w not in words:
            words.append(w)
    return words


def _classification(name: str, k: int, pool: dict[str, tuple[str, ...]], split: Split,
                    phrases: bool = False, misleading: bool = False) -> None:
    @family(name, "text", ("primitive", "classification"), split)
    def gen(rng: random.Random) -> dict[str, Any]:
        cats = rng.sample(sorted(pool), k)
        labels = _labels(rng, k, pool, misleading)
        if misleading:  # a derangement: no category keeps its own name as its label
            while any(c == lab for c, lab in zip(cats, labels)):
                rng.shuffle(labels)
        n = rng.randint(max(6, 2 * k), 10)
        classes = [i % k for i in range(n)]  # balanced: every label appears at least twice
        rng.shuffle(classes)
        test_class = rng.randrange(k)
        per_class = {c: rng.sample(pool[cats[c]], classes.count(c) + (c == test_class)) for c in range(k)}

        def render(member: str) -> str:
            return rng.choice(PHRASES).format(member) if phrases else member
        train = [{"input": render(per_class[c].pop()), "output": labels[c]} for c in classes]
        return {"train": train, "test": [{"input": render(per_class[test_class].pop()), "output": labels[test_class]}]}


_classification("cls2_words", 2, CATEGORIES_A, "adapt")
_classification("cls3_words", 3, CATEGORIES_A, "adapt")
_classification("cls2_phrases", 2, CATEGORIES_A, "adapt", phrases=True)
# held out: categories never seen in adaptation, and labels that contradict the model's priors
_classification("cls2_words_new", 2, CATEGORIES_B, "heldout")
_classification("cls3_phrases_new", 3, CATEGORIES_B, "heldout", phrases=True)
_classification("cls2_misleading", 2, CATEGORIES_A, "heldout", misleading=True)
