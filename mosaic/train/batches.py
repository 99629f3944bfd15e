"""The batching rules, in one place: which examples share a row, a micro-batch and an optimiser step.

``static_pad`` and ``dynamic`` put one example per row; ``packed`` fills rows best-fit-decreasing,
then shuffles the rows. ``dynamic`` and ``packed`` sort rows by length inside mega-batches of 50
micro-batches (as Transformers' length-grouped sampler does), so a micro-batch pads little, then
shuffle the order of the micro-batches. Training (``recipe.py``, ``distributed.py``) and cost planning
(``mosaic/cost/batching.py``) both call :func:`plan_steps`; no Torch import.
"""
from __future__ import annotations

import random
from typing import Sequence

from .config import TrainConfig
from .packing import best_fit_decreasing, length_grouped

REGIMES = ("static_pad", "dynamic", "packed")

Step = list[list[list[int]]]  # micro-batches -> rows -> example indices


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


def plan_steps(lengths: Sequence[int], cfg: TrainConfig, epoch_groups: Sequence[Sequence[int]] | None = None,
               group_by_length: bool = True) -> list[Step]:
    """All optimiser steps of the run, for examples of these token lengths.

    ``epoch_groups[e]`` lists the examples of epoch ``e`` (online Mosaic-IT: epoch e trains on pass e,
    a fresh mosaic of the data); by default every epoch sees all examples. ``max_real_tokens`` stops at
    the step that reaches it (compute matching), ``max_steps`` after that many steps.
    """
    if epoch_groups is not None and len(epoch_groups) != cfg.epochs:
        raise ValueError(f"{len(epoch_groups)} epoch groups for {cfg.epochs} epochs")
    too_long = [n for n in lengths if n > cfg.max_len]
    if too_long:
        raise ValueError(f"{len(too_long)} examples are longer than max_len={cfg.max_len} (longest {max(too_long)}); "
                         "truncate or raise max_len")
    micro = []
    for e in range(cfg.epochs):
        ids = list(range(len(lengths))) if epoch_groups is None else list(epoch_groups[e])
        for mb in epoch_batches([lengths[i] for i in ids], cfg.regime, batch_size=cfg.batch_size,
                                max_len=cfg.max_len, seed=cfg.seed, epoch=e, group_by_length=group_by_length):
            micro.append([[ids[i] for i in row] for row in mb])
    steps = [micro[i:i + cfg.grad_accum] for i in range(0, len(micro), cfg.grad_accum)]
    if cfg.max_real_tokens:
        seen = 0
        for n, step in enumerate(steps):
            seen += sum(lengths[i] for mb in step for row in mb for i in row)
            if seen >= cfg.max_real_tokens:
                steps = steps[:n + 1]
                break
    return steps[:cfg.max_steps] if cfg.max_steps else steps


def row_width(rows: Sequence[Sequence[int]], lengths: Sequence[int], regime: str, max_len: int) -> int:
    """The padded width of a micro-batch, as the collators build it: ``max_len`` under static padding,
    else its longest row."""
    return max_len if regime == "static_pad" else max(sum(lengths[i] for i in r) for r in rows)
