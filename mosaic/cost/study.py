"""The cost study, one function for ``mosaic cost`` and ``make reproduce``: original IT vs Mosaic-IT
planned exactly as training batches them under every regime, optionally turned into wall time and
device-hours by timing a few real optimiser steps of a model on this device."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..train.batches import REGIMES
from ..train.features import Encoded
from .compare import compare_costs
from .flops import ModelShape
from .measure import add_wall_time, measure_rates


@dataclass(frozen=True)
class Timing:
    """Real steps to time: the model, examples of each variant, steps per (variant, regime), batch size."""
    model: Any
    examples: Mapping[str, Sequence[Encoded]]
    steps: int
    batch_size: int
    bf16: bool
    pad_id: int


def cost_study(original: Sequence[int], mosaic: Sequence[int], *, epochs: int, mosaic_epochs: int, max_len: int,
               batch_size: int, grad_accum: int, shape: ModelShape, seed: int = 0, group_by_length: bool = True,
               timing: Timing | None = None, describe: Mapping[str, Any] | None = None) -> dict:
    """The plan of both variants (token lengths in the training format) and, with ``timing``, measured rates
    and the hours they imply. ``describe`` (model, data) is recorded in ``settings``."""
    result = compare_costs(original, mosaic, epochs=epochs, mosaic_epochs=mosaic_epochs, max_len=max_len,
                           batch_size=batch_size, grad_accum=grad_accum, shape=shape, seed=seed,
                           group_by_length=group_by_length)
    result["settings"].update(describe or {})
    if timing is not None:
        rates = measure_rates(timing.model, timing.examples, REGIMES, steps=timing.steps, batch_size=timing.batch_size,
                              max_len=max_len, bf16=timing.bf16, pad_id=timing.pad_id)
        add_wall_time(result, rates)
        result["settings"].update(measured_steps=timing.steps, measured_batch_size=timing.batch_size)
        result["measured"] = {"rates": rates, "steps": timing.steps, "batch_size": timing.batch_size, "bf16": timing.bf16}
    return result
