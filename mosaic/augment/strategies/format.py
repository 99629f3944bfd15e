"""Primary and Format strategies: numbered concatenation, with optional begin/end markers and meta-instruction."""
from __future__ import annotations

import random
from typing import Sequence

from .. import styles
from ..sample import Item, Meta, MosaicPlan
from . import Vocabulary, register

SEPARATORS = ("\n", "\n\n")


def draw_numbering(plan: MosaicPlan, rng: random.Random, vocab: Vocabulary, *, allow_unnumbered: bool) -> None:
    unnumbered = rng.random() < styles.UNNUMBERED_PROBABILITY
    plan.number_style = None if (unnumbered and allow_unnumbered) else rng.choice(vocab.number_styles)
    plan.number_punct = rng.choice(styles.NUMBER_PUNCT)
    plan.tag_newline = rng.random() < 0.5


def require_numbering(plan: MosaicPlan, rng: random.Random, vocab: Vocabulary) -> None:
    """Rules that cite instruction numbers need numbered instructions (the released code does not check)."""
    if plan.number_style is None:
        plan.number_style = rng.choice(vocab.number_styles)


def wrap(plan: MosaicPlan, text: str, phrasing: str, rng: random.Random) -> None:
    """Add a meta-instruction around everything composed so far, before or after it."""
    plan.metas.append(Meta(text, phrasing, before=rng.random() < 0.5, sep=rng.choice(SEPARATORS)))


def draw_format(plan: MosaicPlan, rng: random.Random, vocab: Vocabulary) -> None:
    """The format part every non-primary sample gets (released: ``get_formated_data_2``)."""
    draw_numbering(plan, rng, vocab, allow_unnumbered=True)
    plan.joiner = rng.choice(SEPARATORS)
    if rng.random() < 0.5:
        shape = rng.choice(vocab.marker_shapes)
        b, e = rng.choice(vocab.marker_words)
        if rng.random() < 0.5:
            b, e = b.lower(), e.lower()
        plan.begin, plan.end = shape.replace("{text}", b), shape.replace("{text}", e)
        template, pid = vocab.phrasing("format/tagged", rng)
        wrap(plan, template.format(begin=plan.begin, end=plan.end), pid, rng)
    elif rng.random() < 0.5:
        template, pid = vocab.phrasing("format/plain", rng)
        wrap(plan, template, pid, rng)


@register("format")
def format_strategy(items: Sequence[Item], rng: random.Random, vocab: Vocabulary) -> MosaicPlan:
    plan = MosaicPlan("format", len(items), order=list(range(len(items))))
    draw_format(plan, rng, vocab)
    return plan


@register("primary")
def primary_strategy(items: Sequence[Item], rng: random.Random, vocab: Vocabulary) -> MosaicPlan:
    """Plain numbered concatenation, no markers and no meta-instruction (Figure 1, middle)."""
    plan = MosaicPlan("primary", len(items), order=list(range(len(items))))
    draw_numbering(plan, rng, vocab, allow_unnumbered=False)
    plan.joiner = rng.choice(SEPARATORS)
    return plan
