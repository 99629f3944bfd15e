"""Measured speed per batching regime, to turn a cost plan into wall time and device-hours.

A few real optimiser steps of the training recipe on each (variant, regime) give processed tokens
per second on this device; the full run's processed tokens (from the plan) divided by that rate is
its estimated wall time. Processed tokens, not real ones: padded positions cost the same compute.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ..train.batches import plan_steps
from ..train.config import TrainConfig
from ..train.features import Encoded


def measure_rates(model, encoded: Mapping[str, Sequence[Encoded]], regimes: Sequence[str], *, steps: int,
                  batch_size: int, max_len: int, bf16: bool, pad_id: int) -> dict[str, dict[str, dict]]:
    """``{variant: {regime: {processed_tokens_per_s, real_tokens_per_s, seconds_per_step}}}``.

    The first step of each run is a warm-up and not timed; the model's weights are restored after
    every run, so the order of runs does not matter. ``static_pad`` is timed once and shared by every
    variant: each of its steps is a [batch_size, max_len] tensor whatever the data, so its speed does
    not depend on the variant (the entry says which variant it was measured on).
    """
    from ..train.recipe import train  # imports Torch

    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out: dict[str, dict[str, dict]] = {}
    shared: dict[str, dict] = {}
    for variant, given in encoded.items():
        for regime in regimes:
            if regime in shared:  # real tokens per step differ by variant; only the processed rate carries over
                out.setdefault(variant, {})[regime] = {k: v for k, v in shared[regime].items()
                                                       if k != "real_tokens_per_s"}
                continue
            cfg = TrainConfig(regime=regime, max_len=max_len, batch_size=batch_size, epochs=1, lr=1e-5,
                              warmup_ratio=0.0, bf16=bf16, max_steps=steps + 1)
            examples = list(given)
            # a small set may pack into fewer rows than the steps need: repeat it (only speed is measured)
            while examples and len(plan_steps([len(e) for e in examples], cfg)) < steps + 1 and len(examples) < 64 * max(1, len(given)):
                examples += given
            model.load_state_dict(initial)
            timed = train(model, examples, cfg, pad_id).history[1:]
            if not timed:
                raise ValueError(f"{variant}: too few examples for {steps + 1} steps of batch {batch_size}")
            seconds = sum(h["seconds"] for h in timed)
            out.setdefault(variant, {})[regime] = {
                "processed_tokens_per_s": sum(h["processed_tokens"] for h in timed) / seconds,
                "real_tokens_per_s": sum(h["real_tokens"] for h in timed) / seconds,
                "seconds_per_step": seconds / len(timed), "timed_steps": len(timed), "measured_on": variant}
            if regime == "static_pad":
                shared[regime] = out[variant][regime]
    model.load_state_dict(initial)
    return out


def add_wall_time(result: dict, rates: Mapping[str, Mapping[str, dict]], devices: int = 1) -> dict:
    """Estimated hours and device-hours for every row of a ``compare_costs`` result, and their ratios."""
    for row in result["rows"]:
        rate = rates[row["variant"]][row["regime"]]["processed_tokens_per_s"]
        row["measured_processed_tokens_per_s"] = rate
        row["est_hours"] = row["processed_tokens"] / rate / devices / 3600
        row["est_device_hours"] = row["est_hours"] * devices
    for regime, ratio in result["mosaic_over_original"].items():
        hours = {r["variant"]: r["est_device_hours"] for r in result["rows"] if r["regime"] == regime}
        ratio["device_hours"] = hours["mosaic"] / hours["original"]
    result["settings"]["devices"] = devices
    return result
