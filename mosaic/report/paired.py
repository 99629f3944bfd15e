"""Item-level paired statistics for the report's verdicts (pure: standard library and numpy).

Two arms run with the same seeds on the same items, so differences are paired by (seed, item): a
bootstrap over seeds and items, McNemar's exact test, the minimum detectable effect, Holm's correction
across claims, a seed bootstrap for cost ratios, and the rules from these to SUPPORTED / CONTRADICTED
/ INCONCLUSIVE."""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Hashable, Mapping, Sequence

import numpy as np

Scores = Mapping[Hashable, Mapping[Hashable, float]]  # seed -> {item id: score}

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
PAIRED_BOOTSTRAP = "paired bootstrap over seeds and items (items shared across seeds)"
RATIO_BOOTSTRAP = "paired bootstrap over seeds of a ratio of means"
MCNEMAR = "McNemar exact (two-sided binomial on discordant items)"
CHUNK = 1000  # replicates drawn and reduced per block: bounds memory; fixed, so the stream is fixed too


@dataclass(frozen=True)
class Interval:
    """A bootstrap estimate with its 95% percentile interval [lo, hi], bootstrap SD ``se``, two-sided
    p-value against the null (0 for a difference, 1 for a ratio), the seeds and items that entered
    (``n_items`` None for per-seed totals), the replicates kept, and the method."""
    estimate: float
    lo: float
    hi: float
    se: float
    p: float
    n_seeds: int
    n_items: int | None
    n_boot: int
    method: str


@dataclass(frozen=True)
class McNemar:
    """``a_only``: items a got right and b wrong; ``b_only``: the reverse; ``difference``: accuracy
    of a minus accuracy of b (= (a_only - b_only) / n_items); ``p``: exact two-sided p-value."""
    n_items: int
    a_only: int
    b_only: int
    difference: float
    p: float
    method: str = MCNEMAR


def _ordered(keys) -> list:
    """A fixed order of keys (seeds, item ids), so the same inputs draw the same replicates."""
    try:
        return sorted(keys)
    except TypeError:  # mixed key types
        return sorted(keys, key=repr)


def _replicates(n_boot: int, seed: int, block) -> np.ndarray:
    """``block(rng, m)`` -> m replicates, called in blocks of CHUNK from ``Generator(PCG64(seed))``."""
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.concatenate([block(rng, min(CHUNK, n_boot - start)) for start in range(0, n_boot, CHUNK)])


def _summarise(estimate: float, reps: np.ndarray, null: float, n_seeds: int, n_items, method: str) -> Interval:
    """Percentile interval, bootstrap SD and p-value from the replicates that are defined.

    p = 2 * min(share of replicates <= null, share >= null), clipped to [1/n_boot, 1]: the share on
    the far side of the null, doubled for two sides; a replicate equal to the null counts on both
    sides (identical arms give p = 1); n_boot replicates cannot show a p-value below 1/n_boot."""
    n_boot, reps = reps.size, reps[np.isfinite(reps)]
    if reps.size == 0:
        raise ValueError("no bootstrap replicate is defined (every resample left out all pairs)")
    lo, hi = np.quantile(reps, [0.025, 0.975])
    se = float(np.std(reps, ddof=1)) if reps.size > 1 else 0.0
    share = min(float(np.mean(reps <= null)), float(np.mean(reps >= null)))
    p = min(1.0, max(1.0 / n_boot, 2.0 * share))
    return Interval(float(estimate), float(lo), float(hi), se, p, n_seeds, n_items, int(reps.size), method)


def _pairs(a: Scores, b: Scores) -> tuple[np.ndarray, np.ndarray]:
    """(differences a - b, seeds x items; 1 where the pair exists): the (seed, item) pairs scored in
    both arms; seeds without any such pair are left out."""
    seeds = _ordered(set(a) & set(b))
    if not seeds:
        raise ValueError(f"no seed is in both arms: a has seeds {_ordered(a)}, b has seeds {_ordered(b)}")
    common = {s: set(a[s]) & set(b[s]) for s in seeds}
    paired = [s for s in seeds if common[s]]
    if not paired:
        raise ValueError(f"no item is scored in both arms for any of the common seeds {seeds}: "
                         f"items of a {[len(a[s]) for s in seeds]}, of b {[len(b[s]) for s in seeds]} per seed")
    items = _ordered(set().union(*common.values()))
    col = {item: j for j, item in enumerate(items)}
    diff, mask = np.zeros((2, len(paired), len(items)))
    for i, s in enumerate(paired):
        for item in common[s]:
            d = float(a[s][item]) - float(b[s][item])
            if not math.isfinite(d):
                raise ValueError(f"score of item {item!r} at seed {s!r} is not a finite number "
                                 f"(a: {a[s][item]!r}, b: {b[s][item]!r})")
            diff[i, col[item]], mask[i, col[item]] = d, 1.0
    return diff, mask


def paired_bootstrap(a: Scores, b: Scores, n_boot: int = 10000, seed: int = 0) -> Interval:
    """Mean difference a - b of per-item scores (0/1 accuracy, or per-item NLL), paired by seed and item.

    ``a`` and ``b`` map seed -> {item id: score}. Only (seed, item) pairs scored in both arms count.
    The estimate is the mean over seeds of the mean over that seed's paired items of a - b.

    Each replicate resamples seeds with replacement and, independently, items with replacement;
    the one item resample is shared by every seed of the replicate. Why shared: the items are the
    same questions in every seed, so an item that favours one arm does so in all seeds (items are
    crossed with seeds). Resampling items per seed would treat each seed's items as fresh questions
    and shrink the item variance by the number of seeds: an interval too narrow for questions in
    general. With one seed, only the items are resampled (the interval shows item variation alone).

    Where a seed lacks some items, a replicate's seed mean is over the resampled items present in
    that seed; a replicate with no pair at all is dropped (``Interval.n_boot`` counts those kept).
    Replicates come from numpy's ``Generator(PCG64(seed))`` in a fixed order: same inputs, same bytes.
    """
    diff, mask = _pairs(a, b)
    n_s, n_i = diff.shape

    def block(rng, m):
        seed_draw = rng.integers(0, n_s, size=(m, n_s))
        item_draw = rng.integers(0, n_i, size=(m, n_i))
        with np.errstate(invalid="ignore", divide="ignore"):  # diff is 0 off the pairs
            seed_means = (diff[:, item_draw].sum(axis=2) / mask[:, item_draw].sum(axis=2)).T  # NaN: no pair
            drawn = np.take_along_axis(seed_means, seed_draw, axis=1)
            ok = np.isfinite(drawn)
            return np.where(ok, drawn, 0.0).sum(axis=1) / ok.sum(axis=1)

    reps = _replicates(n_boot, seed, block)
    estimate = float(np.mean(diff.sum(axis=1) / mask.sum(axis=1)))
    return _summarise(estimate, reps, 0.0, n_s, n_i, PAIRED_BOOTSTRAP)


def ratio_bootstrap(a: Mapping[Hashable, float], b: Mapping[Hashable, float], n_boot: int = 10000, seed: int = 0
                    ) -> Interval:
    """mean(a) / mean(b) over the seeds in both arms (per-seed wall times, device-hours); replicates
    resample seeds, one draw for both arms, so the pairing is kept. The p-value is against a ratio
    of 1. Two paired seeds at least: with one, every replicate equals the estimate, an interval
    claiming a precision no one measured."""
    seeds = _ordered(set(a) & set(b))
    if len(seeds) < 2:
        raise ValueError(f"a ratio interval needs at least 2 seeds in both arms, got {seeds}: "
                         f"a has seeds {_ordered(a)}, b has seeds {_ordered(b)}")
    x, y = (np.array([float(arm[s]) for s in seeds]) for arm in (a, b))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(y > 0) and np.all(x >= 0)):
        raise ValueError(f"a ratio needs finite a >= 0 and b > 0 per seed; got a {x.tolist()}, b {y.tolist()}")

    def block(rng, m):
        draw = rng.integers(0, len(seeds), size=(m, len(seeds)))
        return x[draw].mean(axis=1) / y[draw].mean(axis=1)

    reps = _replicates(n_boot, seed, block)
    return _summarise(float(x.mean() / y.mean()), reps, 1.0, len(seeds), None, RATIO_BOOTSTRAP)


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> McNemar:
    """McNemar's exact test on item-level correctness of two arms over the same items (same order).

    Only discordant items carry information on the difference; under "same accuracy" each of the
    n = a_only + b_only discordant items is a's with probability 1/2, so p = min(1, 2 P(X <= min)),
    X ~ Binomial(n, 1/2), computed exactly in integers; p = 1 when no item is discordant."""
    if len(a) != len(b):
        raise ValueError(f"mcnemar needs one correctness per item in both arms: len(a) = {len(a)}, len(b) = {len(b)}")
    if not len(a):
        raise ValueError("mcnemar needs at least one item, got none")
    for name, xs in (("a", a), ("b", b)):
        bad = next((i for i, x in enumerate(xs) if x not in (0, 1)), None)  # True, False, 0, 1 only
        if bad is not None:
            raise ValueError(f"{name}[{bad}] = {xs[bad]!r} is not a correctness (bool or 0/1)")
    xa, xb = [bool(x) for x in a], [bool(x) for x in b]
    a_only = sum(1 for p, q in zip(xa, xb) if p and not q)
    b_only = sum(1 for p, q in zip(xa, xb) if q and not p)
    n = a_only + b_only
    tail = sum(math.comb(n, k) for k in range(min(a_only, b_only) + 1))
    p = min(1.0, 2 * tail / 2 ** n)
    return McNemar(len(xa), a_only, b_only, (a_only - b_only) / len(xa), p)


def min_detectable_effect(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true effect a two-sided test at ``alpha`` detects with probability ``power`` when
    the estimate has standard error ``se``: (z_{1-alpha/2} + z_power) * se (normal approximation;
    2.80 se at the defaults). An effect smaller than this going undetected says little."""
    if not (0 < alpha < 1 and 0 < power < 1 and se >= 0):
        raise ValueError(f"need alpha and power in (0, 1) and se >= 0; got alpha={alpha}, power={power}, se={se}")
    return (NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)) * se


def mde_proportion_paired(n_items: int, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """MDE of a paired accuracy difference over ``n_items`` items, a share ``discordance`` of them
    right in exactly one arm. The difference is (n10 - n01) / n, of variance (p10 + p01 - (p10 -
    p01)^2) / n: discordance / n under "no difference" (p10 = p01). So SE ~ sqrt(discordance / n),
    the MDE is min_detectable_effect of it, and concordant items add nothing (agreement shrinks it)."""
    if not (n_items >= 1 and 0 <= discordance <= 1):
        raise ValueError(f"need n_items >= 1 and discordance in [0, 1]; got {n_items}, {discordance}")
    return min_detectable_effect(math.sqrt(discordance / n_items), alpha, power)


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values, in the input's key order. Sorted ascending, the i-th
    smallest of m gets (m - i + 1) p_(i), made non-decreasing along the order (step-down: a claim
    cannot pass once a smaller p has failed) and capped at 1. Each adjusted p < alpha is Holm's
    decision at alpha, for every alpha: alpha is the verdict's parameter, not this one's."""
    for k, p in pvalues.items():
        if not (isinstance(p, (int, float)) and 0 <= p <= 1):
            raise ValueError(f"p-value of {k!r} must be a number in [0, 1], got {p!r}")
    m = len(pvalues)
    adjusted, running = {}, 0.0
    for i, k in enumerate(sorted(pvalues, key=lambda k: pvalues[k])):
        running = max(running, min(1.0, (m - i) * pvalues[k]))
        adjusted[k] = running
    return {k: adjusted[k] for k in pvalues}


def verdict(interval_or_estimate: Interval | float, adjusted_p: float, alpha: float = 0.05,
            higher_is_better: bool = True) -> str:
    """SUPPORTED when adjusted_p < alpha, the estimate lies in the claimed direction (> 0 when higher
    is better, < 0 for a loss) and the 95% interval lies wholly on that side of 0; CONTRADICTED when
    the same holds in the opposite direction; INCONCLUSIVE otherwise: an interval that includes 0,
    an estimate of 0 or NaN, or a p-value at or above alpha. A bare estimate (McNemar's difference:
    an exact test, no interval) is judged on the p-value and direction alone."""
    x = interval_or_estimate
    est, lo, hi = (x.estimate, x.lo, x.hi) if isinstance(x, Interval) else (float(x),) * 3
    side = np.sign(est)  # NaN for NaN: no comparison holds, so NaN anywhere is INCONCLUSIVE
    if not (adjusted_p < alpha and side != 0 and np.sign(lo) == side and np.sign(hi) == side):
        return INCONCLUSIVE
    return SUPPORTED if (side > 0) == higher_is_better else CONTRADICTED


def ratio_verdict(interval: Interval, claimed_max: float = 0.2, tolerance: float = 0.02) -> str:
    """A cost claim "the ratio is at most claimed_max": SUPPORTED when the whole interval is at or
    below claimed_max + tolerance, CONTRADICTED when all of it is above, INCONCLUSIVE when it
    straddles the bound (or is NaN). The tolerance is stated next to the verdict by the report."""
    bound = claimed_max + tolerance  # chained comparisons: NaN is INCONCLUSIVE
    if interval.lo <= interval.hi <= bound:
        return SUPPORTED
    if interval.hi >= interval.lo > bound:
        return CONTRADICTED
    return INCONCLUSIVE
