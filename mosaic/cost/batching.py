"""Sequences, steps, real and processed tokens, and FLOPs of a training run under a batching regime.

The plan is the training's own (``mosaic.train.batches.plan_steps``: the same rows, micro-batches,
epoch shuffles and stopping rules), summed the way the recipe's step records count:

* ``static_pad``: one example per row, every row padded to ``max_len`` (FastChat's trainer, which
  the paper used: ``padding="max_length"``);
* ``dynamic``: one example per row, rows padded to the longest in their micro-batch (length-grouped
  inside mega-batches of 50 micro-batches, as Transformers' sampler does);
* ``packed``: examples concatenated into rows of at most ``max_len`` tokens (best-fit decreasing),
  attention restricted to each example, so attention FLOPs are those of each example alone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from ..train.batches import REGIMES, plan_steps, row_width
from ..train.config import TrainConfig
from .flops import ModelShape

__all__ = ["REGIMES", "BatchPlan", "plan_batches"]


@dataclass(frozen=True)
class BatchPlan:
    regime: str
    examples: int  # examples seen, counting every epoch
    sequences: int  # rows fed to the model
    steps: int  # optimiser steps
    real_tokens: int
    processed_tokens: int  # including padding
    padding_fraction: float
    flops_executed: float  # training FLOPs a dense kernel performs (padding and full score matrices)
    flops_useful: float  # training FLOPs on real tokens with their own causal context

    def as_dict(self) -> dict:
        return asdict(self)


def plan_batches(lengths: Sequence[int], cfg: TrainConfig, *, shape: ModelShape | None = None,
                 group_by_length: bool = True, packed_attention: str = "per_example",
                 epoch_groups: Sequence[Sequence[int]] | None = None) -> BatchPlan:
    """Cost of training ``cfg`` on examples of the given token lengths (template included)."""
    steps = plan_steps(lengths, cfg, epoch_groups, group_by_length)
    examples = sequences = real = processed = 0
    executed_attn = useful_attn = 0.0
    for step in steps:
        for batch in step:
            width = row_width(batch, lengths, cfg.regime, cfg.max_len)
            sequences += len(batch)
            processed += width * len(batch)
            for row in batch:
                examples += len(row)
                real += sum(lengths[i] for i in row)
                if shape is None:
                    continue
                useful_attn += sum(shape.attention_flops(lengths[i], causal=True) for i in row)
                if cfg.regime == "packed" and packed_attention == "per_example":
                    executed_attn += sum(shape.attention_flops(lengths[i], causal=False) for i in row)
                else:
                    executed_attn += shape.attention_flops(width, causal=False)
    if shape is None:
        f_exec = f_useful = float("nan")
    else:
        f_exec, f_useful = float(shape.train_flops(processed, executed_attn)), float(shape.train_flops(real, useful_attn))
    return BatchPlan(cfg.regime, examples, sequences, len(steps), real, processed,
                     1 - real / processed if processed else 0.0, f_exec, f_useful)
