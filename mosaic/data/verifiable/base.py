"""The contract every task family follows and the drawing helpers they share. A builder takes a seeded
:class:`random.Random` and returns ``Built`` (key parameters, instruction, input, answer) or None to reject the
candidate; ``phrase``, ``distinct_words``, ``distinct_numbers`` and ``csv`` draw and format its data the same
way in every family.
"""
from __future__ import annotations

import random
from typing import Callable

from .words import WORDS


def phrase(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def distinct_words(rng: random.Random, k: int) -> list[str]:
    return rng.sample(WORDS, k)


def distinct_numbers(rng: random.Random, k: int, lo: int, hi: int) -> list[int]:
    return rng.sample(range(lo, hi + 1), k)


def csv(items) -> str:
    return ", ".join(str(x) for x in items)


# A builder draws parameters from the rng and returns (key_params, instruction, input, answer)
# or None to reject the candidate. ``key_params`` is the canonical parameter string: it must
# determine instruction content (up to wording) and the answer.
Built = tuple[str, str, str, str]
Builder = Callable[[random.Random], "Built | None"]
