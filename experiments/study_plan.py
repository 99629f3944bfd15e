"""What ``make reproduce`` runs at each size, and how long that should take on this machine.

A study is the headline pair (original IT, Mosaic-IT) with held-out probe curves, plus the reviewers'
baselines (template randomisation, compute-matched original IT) probed at the start and the end
only. Sizes differ in the experiment (training examples, evaluation items; conf/experiment/) and in
seeds; the claims are the same, and REPORT.md names the study and the seeds of every arm.

The estimate adds, for every run, training (its planned processed tokens at the rate a throughput
probe measures here, a few steps of the study's own batches, times TRAIN_FIT), held-out probe points
(forward passes, FORWARD_SPEEDUP times faster than training) and evaluations, and once the fixed stages.
The seconds of each Size were measured on the machine of the README's "Reproducing the paper's claims"
(2-core AMD EPYC with AVX512-BF16), where the throughput probe measured ``reference_rate``; another
machine's estimate scales them by reference_rate / its own rate.
"""
from __future__ import annotations

from dataclasses import dataclass

from mosaic.progress import clock  # noqa: F401  (reproduce.py's status lines use it from here)

HEADLINE = ("none", "all")                       # "none" first: pairwise compares each variant with it
BASELINES = {"template_random": "baseline=template_random", "none_compute_matched": "baseline=compute_matched"}
END_ONLY = "probe.every_real_tokens=1000000000"  # baselines: the start (cached) and the final weights only
BASELINE_EVAL = "eval=[verifiable]"              # their claims read held-out loss and verifiable tasks only
EXTRA = ("primary", "format", "permute", "maskout")

# Fitted to the measured small study (2026-12-04, 22:35 wall on a fresh store; README): its runs trained at
# 167 processed tok/s where the throughput probe (single examples only, which run slower per token than
# mosaic samples) measures 102, and a probe point (11,004 tokens) took 13-14 s.
PROBE_STEPS = 6        # timed steps of the throughput probe (after one warm-up step)
TRAIN_FIT = 0.61       # run training seconds / (processed tokens / probe rate)
FORWARD_SPEEDUP = 7.9  # probe forward pass tokens/s / throughput probe tokens/s
RUN_OVERHEAD_S = 15    # per run: config, model load, checkpoint, MLflow (wall minus its timed phases)


@dataclass(frozen=True)
class Size:
    name: str
    experiment: str
    seeds: tuple[int, ...]           # headline pair
    baseline_seeds: tuple[int, ...]  # each reviewers' baseline
    reference_rate: float            # throughput probe tok/s on the reference machine for this experiment
    eval_s: float                    # evaluation seconds of one headline run there
    baseline_eval_s: float           # of one baseline run (BASELINE_EVAL)
    fixed_s: float                   # model conversion, size planning, start probe, cost and count stages, report


# small: measured (eval 73-105 s per headline run, 20-25 s per baseline; fixed 127 s). full: not run on
# the reference machine (its estimate, 50 min, does not fit 30): evaluation seconds scaled from small by
# items and new tokens (verifiable 120 vs 100 items, mosaic-bench k 1-3 at 96 tokens vs k 2-3 at 64,
# twice the judged prompts). smoke: a pipeline check, seconds rounded up.
SIZES = {"full": Size("full", "cpu_repro", (0, 1, 2), (0, 1), 167, 140, 28, 127),
         "small": Size("small", "cpu_repro_small", (0, 1), (0, 1), 102, 85, 23, 127),
         "smoke": Size("smoke", "repro_smoke", (0,), (0,), 3800, 10, 5, 60)}
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
    """``runs``: per training run {processed_tokens, probe_points, probe_tokens, baseline}; ``rate``:
    processed training tokens/s the throughput probe measured here."""
    train = TRAIN_FIT * sum(r["processed_tokens"] for r in runs) / rate
    probe = sum(r["probe_points"] * r["probe_tokens"] for r in runs) / (rate * FORWARD_SPEEDUP)
    evals = sum(size.baseline_eval_s if r["baseline"] else size.eval_s for r in runs)
    return train + probe + size.reference_rate / rate * (evals + RUN_OVERHEAD_S * len(runs) + size.fixed_s)
