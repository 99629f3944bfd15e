"""Means over seeds with a 95% Student-t interval, and paired differences (pure functions)."""
from __future__ import annotations

import math
from typing import Mapping

from .paper import MOSAIC, ORIGINAL

# Two-sided 95% quantiles of Student's t, three decimals, every df up to 30 then 40, 60, 120. A df
# between tabulated ones uses the next smaller one (a slightly wider, never narrower, interval).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
        20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
        29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t975(df: int) -> float:
    if df <= 0:
        return float("nan")
    return T975[max(k for k in T975 if k <= df)]


def mean_ci(values) -> tuple[float, float, int]:
    """(mean, half-width of the 95% CI, n) over the values that are numbers; the half-width is NaN
    for one value, everything NaN (n = 0) for none."""
    xs = [v for v in values if v is not None and not math.isnan(v)]
    if not xs:
        return float("nan"), float("nan"), 0
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, float("nan"), 1
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return m, t975(len(xs) - 1) * sd / math.sqrt(len(xs)), len(xs)


def metric_values(training: Mapping, variant: str, key: str) -> tuple[list[float], list[str]]:
    """The metric of every run of ``variant`` (NaN where a run lacks it) and the run ids, by seed."""
    rows = sorted(((s, r) for (v, s), r in training.items() if v == variant), key=lambda x: x[0])
    return [r.metrics.get(key, float("nan")) for _, r in rows], [r.run_id for _, r in rows]


def paired_seeds(training: Mapping, a: str = MOSAIC, b: str = ORIGINAL) -> list[int]:
    return sorted({s for v, s in training if v == a} & {s for v, s in training if v == b})


def paired_differences(training: Mapping, key: str, a: str = MOSAIC, b: str = ORIGINAL) -> list[float]:
    """``a`` minus ``b`` per seed both ran (NaN where either lacks the metric)."""
    nan = float("nan")
    return [training[(a, s)].metrics.get(key, nan) - training[(b, s)].metrics.get(key, nan)
            for s in paired_seeds(training, a, b)]


def paired_diff(training: Mapping, key: str, a: str = MOSAIC, b: str = ORIGINAL) -> tuple[float, float, int]:
    return mean_ci(paired_differences(training, key, a, b))
