"""Original instruction tuning vs Mosaic-IT: the cost of training on each, under every batching regime.

Lengths are counted with the training template (the same count the augmentation budget uses). The
original data is seen ``epochs`` times and the mosaic file (which already holds its ``passes``)
``mosaic_epochs`` times, each epoch in the seeded order training uses.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from ..train.config import TrainConfig
from ..train.features import read_samples
from .batching import REGIMES, plan_batches
from .flops import ModelShape

COLUMNS = ("variant", "regime", "sequences", "steps", "real_tokens", "processed_tokens", "padding_fraction",
           "tflops_executed", "tflops_useful")


def template_lengths(pairs: Iterable[tuple[str, str]], counter, batch: int = 1024) -> list[int]:
    """Training-format token lengths of (instruction, output) pairs, counted in batches."""
    out, prompts, responses = [], [], []

    def flush():
        p = counter.count_batch(prompts)
        r = counter.count_batch(responses)
        out.extend(counter.prompt_specials + a + b for a, b in zip(p, r))
        prompts.clear()
        responses.clear()

    for inst, resp in pairs:
        prompt, response = counter.template.render(counter.tokenizer, inst, resp)
        prompts.append(prompt)
        responses.append(response)
        if len(prompts) >= batch:
            flush()
    if prompts:
        flush()
    return out


def compare_costs(original: Sequence[int], mosaic: Sequence[int], *, epochs: int, mosaic_epochs: int,
                  max_len: int, batch_size: int, grad_accum: int, shape: ModelShape, seed: int = 0,
                  group_by_length: bool = True) -> dict:
    """Both variants planned exactly as training would batch them (``mosaic.train.batches``)."""
    runs = {"original": (original, epochs), "mosaic": (mosaic, mosaic_epochs)}
    rows, ratios = [], {}
    for regime in REGIMES:
        plans = {}
        for variant, (lengths, n_epochs) in runs.items():
            cfg = TrainConfig(regime=regime, max_len=max_len, batch_size=batch_size, grad_accum=grad_accum,
                              epochs=n_epochs, seed=seed)
            p = plan_batches(lengths, cfg, shape=shape, group_by_length=group_by_length)
            plans[variant] = p
            d = p.as_dict()
            rows.append({"variant": variant, "regime": regime, "sequences": d["sequences"], "steps": d["steps"],
                         "real_tokens": d["real_tokens"], "processed_tokens": d["processed_tokens"],
                         "padding_fraction": round(d["padding_fraction"], 4),
                         "tflops_executed": d["flops_executed"] / 1e12, "tflops_useful": d["flops_useful"] / 1e12})
        o, m = plans["original"], plans["mosaic"]
        ratios[regime] = {"sequences": m.sequences / o.sequences, "steps": m.steps / o.steps,
                          "processed_tokens": m.processed_tokens / o.processed_tokens,
                          "flops_executed": m.flops_executed / o.flops_executed,
                          "real_tokens": m.real_tokens / o.real_tokens}
    return {"rows": rows, "mosaic_over_original": ratios,
            "settings": {"epochs": epochs, "mosaic_epochs": mosaic_epochs, "max_len": max_len,
                         "batch_size": batch_size, "grad_accum": grad_accum, "group_by_length": group_by_length,
                         "seed": seed}}


MEASURED = ("measured_processed_tokens_per_s", "est_hours", "est_device_hours")


def to_markdown(result: dict) -> str:
    columns = COLUMNS + (MEASURED if "est_hours" in result["rows"][0] else ())
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = ""
    for r in result["rows"]:
        cells = [f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in columns]
        body += "| " + " | ".join(cells) + " |\n"
    keys = ["sequences", "steps", "processed_tokens", "flops_executed", "real_tokens"]
    keys += ["device_hours"] if "device_hours" in next(iter(result["mosaic_over_original"].values())) else []
    ratio = "\n| regime | " + " | ".join(k.replace("_", " ") for k in keys) + " |\n|---|" + "---|" * len(keys) + "\n"
    for regime, q in result["mosaic_over_original"].items():
        ratio += f"| {regime} | " + " | ".join(f"{q[k]:.3f}" for k in keys) + " |\n"
    return head + body + "\nMosaic-IT / original:\n" + ratio


def mosaic_pairs(path: str | Path) -> Iterable[tuple[str, str]]:
    return ((r["instruction"], r["output"]) for r in read_samples(path))
