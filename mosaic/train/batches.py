"""Micro-batches of one epoch under a batching regime, as index lists into the encoded examples.

The same grouping rules as the cost model (``mosaic.cost.batching``): ``static_pad`` and ``dynamic``
put one example per row; ``packed`` fills rows best-fit-decreasing, then shuffles the rows. ``dynamic``
and ``packed`` sort rows by length inside mega-batches of 50 micro-batches (as Transformers'
length-grouped sampler does), so a micro-batch pads little, then shuffle the order of the micro-batches.
"""
from __future__ import annotations

import random
from typing import Sequence

from ..cost.batching import REGIMES
from .packing import best_fit_decreasing, length_grouped


def epoch_batches(lengths: Sequence[int], regime: str, *, batch_size: int, max_len: int, seed: int, epoch: int,
                  group_by_length: bool = True) -> list[list[list[int]]]:
    """Micro-batches -> rows -> example indices, for epoch ``epoch`` (a seeded shuffle per epoch)."""
    if regime not in REGIMES:
        raise ValueError(f"unknown batching regime {regime!r}; known: {REGIMES}")
    rng = random.Random(f"epoch:{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if regime == "packed":
        rows = [[order[i] for i in row] for row in best_fit_decreasing([lengths[i] for i in order], max_len)]
        rng.shuffle(rows)
    else:
        rows = [[i] for i in order]
    if regime != "static_pad" and group_by_length:
        rows = length_grouped(rows, batch_size, lambda r: sum(lengths[i] for i in r))
    batches = [rows[k:k + batch_size] for k in range(0, len(rows), batch_size)]
    if regime != "static_pad" and group_by_length:
        # Sorting makes batches of similar lengths; without this shuffle, a dataset that fits in one window
        # would be seen in the same longest-first order in every epoch and for every seed.
        rng.shuffle(batches)
    return batches
