"""Sequences, steps, real and processed tokens, and FLOPs of one epoch under a batching regime.

* ``static_pad``: one example per row, every row padded to ``max_len`` (FastChat's trainer, which
  the paper used: ``padding="max_length"``);
* ``dynamic``: one example per row, rows padded to the longest in their micro-batch; with
  ``group_by_length`` examples are sorted by length inside mega-batches of 50 micro-batches, as
  Transformers' length-grouped sampler does;
* ``packed``: examples concatenated into rows of at most ``max_len`` tokens (best-fit decreasing,
  as the trainer does), attention restricted to each example (position ids restart per example), so attention
  FLOPs are those of each example alone; rows padded to the longest row of the micro-batch.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

from ..train.packing import best_fit_decreasing, length_grouped
from .flops import ModelShape

REGIMES = ("static_pad", "dynamic", "packed")


@dataclass(frozen=True)
class BatchPlan:
    regime: str
    examples: int
    sequences: int  # rows fed to the model
    steps: int  # optimiser steps
    real_tokens: int
    processed_tokens: int  # including padding
    padding_fraction: float
    flops_executed: float  # training FLOPs a dense kernel performs (padding and full score matrices)
    flops_useful: float  # training FLOPs on real tokens with their own causal context

    def as_dict(self) -> dict:
        return asdict(self)


def _rows(lengths: Sequence[int], regime: str, max_len: int) -> list[list[int]]:
    if regime in ("static_pad", "dynamic"):
        return [[l] for l in lengths]
    return [[lengths[i] for i in row] for row in best_fit_decreasing(lengths, max_len)]


def _micro_batches(rows: list[list[int]], batch_size: int, group_by_length: bool) -> list[list[list[int]]]:
    if group_by_length:
        rows = length_grouped(rows, batch_size, sum)
    return [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]


def plan_batches(lengths: Sequence[int], regime: str, *, max_len: int, batch_size: int, grad_accum: int = 1,
                 shape: ModelShape | None = None, group_by_length: bool = False,
                 packed_attention: str = "per_example") -> BatchPlan:
    """Cost of one pass over examples of the given token lengths (template included)."""
    if regime not in REGIMES:
        raise ValueError(f"unknown batching regime {regime!r}; known: {REGIMES}")
    too_long = [l for l in lengths if l > max_len]
    if too_long:
        raise ValueError(f"{len(too_long)} examples are longer than max_len={max_len} (longest {max(too_long)}); "
                         "truncate or raise max_len")
    rows = _rows(lengths, regime, max_len)
    batches = _micro_batches(rows, batch_size, group_by_length and regime != "static_pad")
    real = sum(lengths)
    processed = executed_attn = 0
    for batch in batches:
        width = max_len if regime == "static_pad" else max(sum(r) for r in batch)
        processed += width * len(batch)
        if shape is not None:
            for r in batch:
                if regime == "packed" and packed_attention == "per_example":
                    executed_attn += sum(shape.attention_flops(l, causal=False) for l in r)
                else:
                    executed_attn += shape.attention_flops(width, causal=False)
    steps = math.ceil(len(batches) / grad_accum)
    if shape is None:
        f_exec = f_useful = float("nan")
    else:
        f_exec = float(shape.train_flops(processed, executed_attn))
        f_useful = float(shape.train_flops(real, sum(shape.attention_flops(l, causal=True) for l in lengths)))
    return BatchPlan(regime, len(lengths), len(rows), steps, real, processed,
                     1 - real / processed if processed else 0.0, f_exec, f_useful)
