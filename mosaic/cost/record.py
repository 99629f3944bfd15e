"""The cost record of a finished training run, summed from the recipe's step records: sequences,
real and processed tokens, wall time, useful FLOPs, MFU against the device's peak (peak.py), device-hours."""
from __future__ import annotations

from .flops import ModelShape
from .peak import mfu


def training_cost(history: list[dict], model_config, devices: int, peak: tuple[float, str]) -> dict:
    """``peak``: (FLOP/s per device, its source) from :func:`peak.device_peak`."""
    peak, peak_source = peak
    train_seconds = sum(h["seconds"] for h in history)  # summed over steps, so a resumed run counts all of them
    shape = ModelShape.from_config(model_config)
    real = sum(h["real_tokens"] for h in history)
    processed = sum(h["processed_tokens"] for h in history)
    useful = shape.train_flops(real, shape.attention_flops_for_pairs(sum(h["causal_pairs"] for h in history)))
    return {"sequences": sum(h["sequences"] for h in history), "examples": sum(h["examples"] for h in history),
            "optimizer_steps": len(history), "devices": devices,
            "real_tokens": real, "processed_tokens": processed,
            "loss_tokens": sum(h["loss_tokens"] for h in history),
            "padding_fraction": 1 - real / processed if processed else 0.0,
            "train_seconds": train_seconds, "real_tokens_per_s": real / train_seconds,
            "processed_tokens_per_s": processed / train_seconds, "train_flops_useful": useful,
            "peak_flops_per_device": peak, "peak_source": peak_source, "mfu": mfu(useful, train_seconds, devices, peak),
            "device_hours": train_seconds * devices / 3600}
