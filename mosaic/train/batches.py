"""Micro-batches of one epoch under a batching regime, as index lists into the encoded examples.

The same grouping rules as the cost model (``mosaic.cost.batching``): ``static_pad`` and ``dynamic``
put one example per row (``dynamic`` optionally sorts by length inside mega-batches of 50
micro-batches, like Transformers' length-grouped sampler); ``packed`` fills rows next-fit.
"""
from __future__ import annotations

import random
from typing import Sequence

from ..cost.batching import REGIMES
from .packing import length_grouped, next_fit


def epoch_batches(lengths: Sequence[int], regime: str, *, batch_size: int, max_len: int, seed: int, epoch: int,
                  group_by_length: bool = True) -> list[list[list[int]]]:
    """Micro-batches -> rows -> example indices, for epoch ``epoch`` (a seeded shuffle per epoch)."""
    if regime not in REGIMES:
        raise ValueError(f"unknown batching regime {regime!r}; known: {REGIMES}")
    order = list(range(len(lengths)))
    random.Random(f"epoch:{seed}:{epoch}").shuffle(order)
    if regime == "packed":
        rows = [[order[i] for i in row] for row in next_fit([lengths[i] for i in order], max_len)]
    else:
        rows = [[i] for i in order]
    if regime == "dynamic" and group_by_length:
        rows = length_grouped(rows, batch_size, lambda r: sum(lengths[i] for i in r))
    return [rows[k:k + batch_size] for k in range(0, len(rows), batch_size)]
