"""Permute strategy: the responses come in an order a meta-instruction prescribes (ten rules)."""
from __future__ import annotations

import random
from typing import Callable, Sequence

from ..sample import Item, MosaicPlan
from . import Vocabulary, register
from .format import draw_format, require_numbering, wrap
from .lists import render_numbers


def _by(key: Callable[[Item], object], reverse: bool = False):
    def order(items: Sequence[Item]) -> list[int]:
        # Python's sort is stable also with reverse=True: ties keep the instruction order.
        return sorted(range(len(items)), key=[key(it) for it in items].__getitem__, reverse=reverse)
    return order


def _alpha(item: Item) -> str:
    # Case-insensitive, whole text: the released code sorted case-sensitively ('Z' < 'a').
    return item.prompt.casefold()


ORDER_RULES: dict[str, Callable[[Sequence[Item]], list[int]]] = {
    "fixed": lambda items: list(range(len(items))),  # replaced by a random permutation below
    "reverse": lambda items: list(range(len(items)))[::-1],
    "alpha": _by(_alpha),
    "alpha_reverse": _by(_alpha, reverse=True),
    "words_asc": _by(lambda it: it.words),
    "words_desc": _by(lambda it: it.words, reverse=True),
    "chars_asc": _by(lambda it: it.chars),
    "chars_desc": _by(lambda it: it.chars, reverse=True),
    "odd_even": lambda items: list(range(0, len(items), 2)) + list(range(1, len(items), 2)),
    "even_odd": lambda items: list(range(1, len(items), 2)) + list(range(0, len(items), 2)),
}
NUMBERED_RULES = frozenset({"fixed", "odd_even", "even_odd"})


@register("permute")
def permute_strategy(items: Sequence[Item], rng: random.Random, vocab: Vocabulary) -> MosaicPlan:
    plan = MosaicPlan("permute", len(items))
    draw_format(plan, rng, vocab)
    plan.rule = rng.choice(list(ORDER_RULES))
    if plan.rule in NUMBERED_RULES:
        require_numbering(plan, rng, vocab)
    if plan.rule == "fixed":
        plan.order = list(range(len(items)))
        rng.shuffle(plan.order)
        template, pid = vocab.phrasing("permute/fixed", rng)
        text = template.format(order=render_numbers(plan.order, rng))
    else:
        plan.order = ORDER_RULES[plan.rule](items)
        template, pid = vocab.phrasing(f"permute/{plan.rule}", rng)
        text = template
    wrap(plan, text, pid, rng)
    return plan
