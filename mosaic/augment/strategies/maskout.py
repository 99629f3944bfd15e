"""Maskout strategy: a meta-instruction names instructions to ignore; their responses are removed."""
from __future__ import annotations

import random
from typing import Sequence

from ..sample import Item, MosaicPlan
from . import Vocabulary, register
from .format import draw_format, require_numbering, wrap
from .lists import render_numbers

MASK_RULES = ("fixed", "longest", "shortest", "odd", "even")
NUMBERED_RULES = frozenset({"fixed", "odd", "even"})
RATIO_RANGE = (0.1, 0.5)


def masked_indices(rule: str, items: Sequence[Item], k: int, rng: random.Random) -> list[int]:
    n = len(items)
    if rule == "fixed":
        return sorted(rng.sample(range(n), k))
    if rule == "longest":  # ties: the earlier instruction counts as longer (the sort is stable)
        return sorted(sorted(range(n), key=[-it.words for it in items].__getitem__)[:k])
    if rule == "shortest":
        return sorted(sorted(range(n), key=[it.words for it in items].__getitem__)[:k])
    if rule == "odd":  # instructions 1, 3, 5, ... (0-based 0, 2, 4, ...)
        return list(range(0, n, 2))
    if rule == "even":
        return list(range(1, n, 2))
    raise ValueError(f"unknown maskout rule {rule!r}")


@register("maskout")
def maskout_strategy(items: Sequence[Item], rng: random.Random, vocab: Vocabulary) -> MosaicPlan:
    n = len(items)
    plan = MosaicPlan("maskout", n)
    draw_format(plan, rng, vocab)
    plan.rule = rng.choice(MASK_RULES)
    if plan.rule in NUMBERED_RULES:
        require_numbering(plan, rng, vocab)
    k = max(int(n * rng.uniform(*RATIO_RANGE)), 1)
    plan.masked = masked_indices(plan.rule, items, k, rng)
    plan.order = [i for i in range(n) if i not in set(plan.masked)]
    template, pid = vocab.phrasing(f"maskout/{plan.rule}", rng)
    if plan.rule == "fixed":
        text = template.format(masked=render_numbers(plan.masked, rng))
    elif plan.rule in ("longest", "shortest"):
        text = template.format(k=k, noun="instruction" if k == 1 else "instructions")
    else:
        text = template
    wrap(plan, text, pid, rng)
    return plan
