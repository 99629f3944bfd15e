"""What ``make reproduce`` runs at each size, and how long that should take on this machine.

A study is the headline pair (original IT, Mosaic-IT) with held-out probe curves, plus the reviewers'
baselines (template randomisation, compute-matched original IT) probed at the start and the end
only. Sizes differ in the experiment (training examples, evaluation items; conf/experiment/) and in
seeds; the claims are the same, and REPORT.md names the study and the seeds of every arm.

The estimate: training seconds = planned processed tokens / a processed-token rate measured on this
machine (a few real steps of the study's own batches); probe points and evaluations scale from the
calibration below by the same rate. Calibrated on our 2-core AVX512-BF16 machines (README,
"Reproducing the paper's claims"); a slower machine gets a proportionally longer estimate.
"""
from __future__ import annotations

from dataclasses import dataclass

HEADLINE = ("none", "all")                       # "none" first: pairwise compares each variant with it
BASELINES = {"template_random": "baseline=template_random", "none_compute_matched": "baseline=compute_matched"}
END_ONLY = "probe.every_real_tokens=1000000000"  # baselines: the start (cached) and the final weights only
BASELINE_EVAL = "eval=[verifiable]"              # their claims read held-out loss and verifiable tasks only
EXTRA = ("primary", "format", "permute", "maskout")

# Calibration (measured on the machine of the README's table, processed tokens/s of training then):
CALIBRATION_RATE = 200.0  # processed training tokens/s at the study's batch size
FORWARD_SPEEDUP = 6.0     # a probe forward pass processes tokens this many times faster than a training step


@dataclass(frozen=True)
class Size:
    name: str
    experiment: str
    seeds: tuple[int, ...]           # headline pair
    baseline_seeds: tuple[int, ...]  # each reviewers' baseline
    eval_s: float                    # evaluation seconds per run at CALIBRATION_RATE
    fixed_s: float                   # model conversion, cost and count stages, report, at CALIBRATION_RATE


SIZES = {"full": Size("full", "cpu_repro", (0, 1, 2), (0, 1), 200, 150),
         "small": Size("small", "cpu_repro_small", (0, 1), (0, 1), 130, 120),
         "smoke": Size("smoke", "repro_smoke", (0,), (0,), 5, 5)}
AUTO = ("full", "small")  # tried in this order; the first that fits the budget is run


def arms(size: Size, baselines: bool = True) -> list[tuple[str, int, list[str]]]:
    """(variant, seed, overrides) of every training run, headline pair first, seed by seed."""
    out = [(v, s, [f"augmentation={v}", f"seed={s}"]) for s in size.seeds for v in HEADLINE]
    if baselines:
        out += [(v, s, [override, f"seed={s}", END_ONLY, BASELINE_EVAL]) for s in size.baseline_seeds
                for v, override in BASELINES.items()]
    return out


def probe_points(real_tokens: int, every: int | None) -> int:
    """Probe points after the start: one per multiple of ``every`` reached, and the end."""
    return 0 if not every else real_tokens // every + 1


def estimate_seconds(size: Size, runs: list[dict], rate: float) -> float:
    """``runs``: per training run {processed_tokens, probe_points, probe_tokens}; ``rate``: processed
    training tokens/s measured here."""
    slow = CALIBRATION_RATE / rate
    train = sum(r["processed_tokens"] for r in runs) / rate
    probe = sum(r["probe_points"] * r["probe_tokens"] for r in runs) / (rate * FORWARD_SPEEDUP)
    return train + probe + slow * (size.eval_s * len(runs) + size.fixed_s)


def clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"
