import math

import numpy as np
import pytest

from mosaic.report.paired import (CONTRADICTED, INCONCLUSIVE, PAIRED_BOOTSTRAP, RATIO_BOOTSTRAP, SUPPORTED,
                                  Interval, holm, mcnemar, mde_proportion_paired, min_detectable_effect,
                                  paired_bootstrap, ratio_bootstrap, ratio_verdict, verdict)

# Two seeds, four items, 0/1 correctness; a is right on 5 of 8 (seed, item) pairs, b on 3 of 8.
A = {0: {"q1": 1.0, "q2": 1.0, "q3": 0.0, "q4": 1.0}, 1: {"q1": 1.0, "q2": 0.0, "q3": 0.0, "q4": 1.0}}
B = {0: {"q1": 0.0, "q2": 1.0, "q3": 0.0, "q4": 0.0}, 1: {"q1": 1.0, "q2": 0.0, "q3": 1.0, "q4": 0.0}}


def arms(diffs: np.ndarray, base: float = 0.5) -> tuple[dict, dict]:
    """Arms whose (seed, item) differences a - b are ``diffs`` (seeds x items)."""
    a = {s: {f"i{j}": base + float(d) for j, d in enumerate(row)} for s, row in enumerate(diffs)}
    b = {s: {f"i{j}": base for j in range(len(row))} for s, row in enumerate(diffs)}
    return a, b


def interval(est, lo, hi, p=0.01) -> Interval:
    return Interval(est, lo, hi, 0.1, p, 3, 100, 10000, PAIRED_BOOTSTRAP)


# --- paired_bootstrap ---------------------------------------------------------------------------------

def test_paired_bootstrap_pinned_output():
    """Exact numbers for a fixed input and seed: a change to the draws or the reduction shows here."""
    r = paired_bootstrap(A, B, n_boot=2000, seed=0)
    assert (r.estimate, r.n_seeds, r.n_items, r.n_boot, r.method) == (0.25, 2, 4, 2000, PAIRED_BOOTSTRAP)
    assert (r.lo, r.hi, r.se, r.p) == pytest.approx(PINNED, rel=1e-12)


PINNED = (-0.5, 0.875, 0.3515767919250503, 0.627)  # lo, hi, se, p


def test_paired_bootstrap_same_seed_same_bytes_other_seed_differs():
    r1, r2 = paired_bootstrap(A, B, n_boot=500, seed=7), paired_bootstrap(A, B, n_boot=500, seed=7)
    assert r1 == r2
    r3 = paired_bootstrap(A, B, n_boot=500, seed=8)
    assert r3.estimate == r1.estimate and (r3.se, r3.p) != (r1.se, r1.p)


def test_paired_bootstrap_input_order_does_not_matter():
    shuffled_a = {1: dict(reversed(A[1].items())), 0: A[0]}
    assert paired_bootstrap(shuffled_a, B, n_boot=300) == paired_bootstrap(A, B, n_boot=300)


def test_large_true_difference_is_detected():
    rng = np.random.default_rng(3)
    a = {s: {i: float(rng.random() < 0.8) for i in range(200)} for s in range(3)}
    b = {s: {i: float(rng.random() < 0.3) for i in range(200)} for s in range(3)}
    r = paired_bootstrap(a, b, n_boot=2000)
    assert 0.4 < r.estimate < 0.6 and r.lo > 0 and r.p == 1 / 2000
    assert r.lo <= r.estimate <= r.hi
    flipped = paired_bootstrap(b, a, n_boot=2000)
    assert flipped.estimate == -r.estimate and flipped.hi < 0


def test_identical_arms_give_zero_and_p_one():
    rng = np.random.default_rng(4)
    a = {s: {i: float(rng.random() < 0.5) for i in range(50)} for s in range(3)}
    r = paired_bootstrap(a, a, n_boot=500)
    assert (r.estimate, r.lo, r.hi, r.se, r.p) == (0.0, 0.0, 0.0, 0.0, 1.0)


def test_no_difference_interval_contains_zero():
    rng = np.random.default_rng(5)
    a = {s: {i: float(rng.random() < 0.5) for i in range(100)} for s in range(3)}
    b = {s: {i: float(rng.random() < 0.5) for i in range(100)} for s in range(3)}
    r = paired_bootstrap(a, b, n_boot=2000)
    assert r.lo < 0 < r.hi and r.p > 0.05


def test_item_resample_is_shared_across_seeds():
    """Every seed has the same per-item differences x: shared item draws make all seed means of a
    replicate equal, so the SE is that of one seed's item mean, sd(x)/sqrt(n). Separate draws per
    seed would give sd(x)/sqrt(n * seeds), half of it with 4 seeds."""
    x = np.random.default_rng(6).normal(size=200)
    r = paired_bootstrap(*arms(np.tile(x, (4, 1))), n_boot=4000)
    shared = np.std(x) / math.sqrt(len(x))
    assert r.se == pytest.approx(shared, rel=0.08)
    assert r.se > 1.5 * shared / math.sqrt(4)


def test_seeds_are_resampled():
    """No item variation, only per-seed offsets: the SE is the seed bootstrap's, sd_pop(c)/sqrt(seeds)."""
    c = np.array([0.0, 0.1, 0.2, 0.5])
    r = paired_bootstrap(*arms(np.repeat(c[:, None], 30, axis=1)), n_boot=4000)
    assert r.estimate == pytest.approx(c.mean())
    assert r.se == pytest.approx(np.std(c) / 2, rel=0.08)


def test_one_seed_still_resamples_items():
    x = np.random.default_rng(7).normal(0.3, 1.0, size=300)
    r = paired_bootstrap(*arms(x[None, :]), n_boot=3000)
    assert r.n_seeds == 1 and r.estimate == pytest.approx(x.mean())
    assert r.se == pytest.approx(np.std(x) / math.sqrt(len(x)), rel=0.08)


def test_only_pairs_count_and_missing_items_are_averaged_per_seed():
    a = {0: {"x": 1.0, "y": 1.0, "only_a": 5.0}, 1: {"x": 0.0}, 2: {"x": 9.0}}
    b = {0: {"x": 0.0, "y": 0.0, "only_b": 5.0}, 1: {"x": 1.0, "y": 7.0}, 3: {"x": 9.0}}
    r = paired_bootstrap(a, b, n_boot=200)
    assert (r.estimate, r.n_seeds, r.n_items) == ((1.0 + -1.0) / 2, 2, 2)  # seed 0: x, y; seed 1: x only


def test_losses_difference_sign():
    a = {0: {"i": 2.0, "j": 2.2}, 1: {"i": 2.1, "j": 2.3}}  # NLL per item: a is lower
    b = {0: {"i": 2.5, "j": 2.6}, 1: {"i": 2.6, "j": 2.7}}
    r = paired_bootstrap(a, b, n_boot=500)
    assert r.estimate == pytest.approx(-0.45) and r.hi < 0
    assert verdict(r, r.p, higher_is_better=False) == SUPPORTED


def test_paired_bootstrap_errors_name_what_is_missing():
    with pytest.raises(ValueError, match=r"no seed is in both arms: a has seeds \[0, 1\], b has seeds \[2\]"):
        paired_bootstrap({0: {"x": 1.0}, 1: {"x": 1.0}}, {2: {"x": 1.0}})
    with pytest.raises(ValueError, match=r"no item is scored in both arms for any of the common seeds \[0\]"):
        paired_bootstrap({0: {"x": 1.0}}, {0: {"y": 1.0}})
    with pytest.raises(ValueError, match=r"item 'x' at seed 0 is not a finite number"):
        paired_bootstrap({0: {"x": float("nan")}}, {0: {"x": 1.0}})
    with pytest.raises(ValueError, match="n_boot must be a positive integer"):
        paired_bootstrap(A, B, n_boot=0)


# --- ratio_bootstrap ----------------------------------------------------------------------------------

def test_ratio_bootstrap_estimate_is_ratio_of_means_and_pinned():
    a, b = {0: 1.0, 1: 1.2, 2: 0.9, 3: 5.0}, {0: 4.0, 1: 5.0, 2: 4.5, 4: 1.0}  # seeds 3, 4 do not pair
    r = ratio_bootstrap(a, b, n_boot=2000, seed=0)
    assert r.estimate == pytest.approx(3.1 / 13.5) and (r.n_seeds, r.n_items, r.method) == (3, None, RATIO_BOOTSTRAP)
    assert (r.lo, r.hi, r.se) == pytest.approx(RATIO_PINNED, rel=1e-12)
    assert r.p == 1 / 2000  # every replicate is far below a ratio of 1
    assert ratio_bootstrap(a, b, n_boot=2000, seed=0) == r and ratio_bootstrap(a, b, n_boot=2000, seed=1) != r
    assert 0.2 <= r.lo <= r.estimate <= r.hi <= 0.25  # bounded by the extreme replicates' seed ratios


RATIO_PINNED = (0.2, 0.25, 0.012173404222339828)  # lo, hi, se


def test_ratio_bootstrap_keeps_the_pairing():
    """b is a times 4 in every seed, however much the seeds differ: every replicate's ratio is 1/4."""
    a = {0: 1.0, 1: 10.0, 2: 3.0}
    r = ratio_bootstrap(a, {s: 4 * v for s, v in a.items()}, n_boot=500)
    assert (r.lo, r.hi) == pytest.approx((0.25, 0.25)) and r.se == pytest.approx(0.0, abs=1e-12)


def test_ratio_bootstrap_errors():
    with pytest.raises(ValueError, match=r"at least 2 seeds in both arms, got \[0\]"):
        ratio_bootstrap({0: 1.0, 1: 1.0}, {0: 2.0})
    with pytest.raises(ValueError, match="b > 0"):
        ratio_bootstrap({0: 1.0, 1: 1.0}, {0: 2.0, 1: 0.0})


# --- mcnemar ------------------------------------------------------------------------------------------

def test_mcnemar_counts_and_difference():
    r = mcnemar([True, True, False, True, False], [False, True, True, False, False])
    assert (r.n_items, r.a_only, r.b_only) == (5, 2, 1) and r.difference == pytest.approx(0.2)
    assert r.p == 1.0  # 2 * P(X <= 1), X ~ Bin(3, 1/2) = 2 * 4/8, capped
    assert mcnemar([1] * 10, [0] * 10).p == pytest.approx(2 / 2 ** 10)
    assert mcnemar([1, 0], [1, 0]).p == 1.0  # no discordant item


def test_mcnemar_matches_scipy_binomtest():
    stats = pytest.importorskip("scipy.stats")
    for a_only, b_only in ((0, 0), (0, 1), (1, 5), (3, 3), (7, 2), (0, 12), (20, 31), (60, 40), (250, 205)):
        a = [True] * a_only + [False] * b_only + [True, False] * 3
        b = [False] * a_only + [True] * b_only + [True, False] * 3
        r = mcnemar(a, b)
        assert (r.a_only, r.b_only) == (a_only, b_only)
        n = a_only + b_only
        ref = stats.binomtest(a_only, n, 0.5).pvalue if n else 1.0
        assert r.p == pytest.approx(ref, rel=1e-9), (a_only, b_only)


def test_mcnemar_errors():
    with pytest.raises(ValueError, match=r"len\(a\) = 3, len\(b\) = 2"):
        mcnemar([True, False, True], [True, False])
    with pytest.raises(ValueError, match=r"a\[1\] = 0.5 is not a correctness"):
        mcnemar([1, 0.5], [1, 0])
    with pytest.raises(ValueError, match="at least one item"):
        mcnemar([], [])


# --- minimum detectable effect ------------------------------------------------------------------------

def test_min_detectable_effect():
    assert min_detectable_effect(1.0) == pytest.approx(1.959964 + 0.841621, abs=1e-5)
    assert min_detectable_effect(0.02) == pytest.approx(0.02 * 2.801585, rel=1e-5)
    assert min_detectable_effect(1.0, alpha=0.01, power=0.9) == pytest.approx(2.575829 + 1.281552, abs=1e-5)
    stats = pytest.importorskip("scipy.stats")
    assert min_detectable_effect(0.3, 0.1, 0.95) == pytest.approx(0.3 * (stats.norm.ppf(0.95) * 2), rel=1e-9)
    with pytest.raises(ValueError, match=r"need alpha and power in \(0, 1\) and se >= 0; got alpha=0.0"):
        min_detectable_effect(1.0, alpha=0.0)
    with pytest.raises(ValueError, match="se=-1.0"):
        min_detectable_effect(-1.0)


def test_mde_proportion_paired():
    assert mde_proportion_paired(120, 0.3) == pytest.approx(2.801585 * math.sqrt(0.3 / 120), rel=1e-5)
    assert mde_proportion_paired(400, 0.3) == pytest.approx(mde_proportion_paired(100, 0.3) / 2)
    assert mde_proportion_paired(100, 0.0) == 0.0
    with pytest.raises(ValueError, match="need n_items >= 1 and discordance"):
        mde_proportion_paired(0, 0.3)
    with pytest.raises(ValueError, match=r"discordance in \[0, 1\]; got 10, 1.5"):
        mde_proportion_paired(10, 1.5)


def test_mde_matches_simulated_mcnemar_power():
    """With p10 = 0.2, p01 = 0.1 (effect 0.1 = the MDE for 230 items at discordance 0.3 within a few
    per cent) McNemar rejects in about 80% of simulated studies."""
    n = 230
    assert mde_proportion_paired(n, 0.3) == pytest.approx(0.1, rel=0.03)
    rng = np.random.default_rng(8)
    hits = 0
    for _ in range(400):
        u = rng.random(n)
        a, b = u < 0.2, (u >= 0.2) & (u < 0.3)
        hits += mcnemar(list(a), list(b)).p < 0.05
    assert 0.7 < hits / 400 < 0.9


# --- holm ---------------------------------------------------------------------------------------------

def test_holm_hand_computed():
    p = {"quality": 0.01, "cost": 0.04, "convergence": 0.03, "mosaic": 0.005}
    # sorted: mosaic 4*0.005=0.02, quality 3*0.01=0.03, convergence 2*0.03=0.06, cost max(0.04, 0.06)=0.06
    adj = holm(p)
    assert list(adj) == list(p)
    assert adj == pytest.approx({"quality": 0.03, "cost": 0.06, "convergence": 0.06, "mosaic": 0.02})
    assert holm({"x": 0.6, "y": 0.7}) == {"x": 1.0, "y": 1.0}  # capped
    assert holm({"x": 0.01, "y": 0.01}) == {"x": 0.02, "y": 0.02}  # ties
    assert holm({}) == {} and holm({"only": 0.03}) == {"only": 0.03}


def test_holm_is_monotone_and_never_below_raw():
    rng = np.random.default_rng(9)
    for _ in range(50):
        p = {f"c{i}": float(x) for i, x in enumerate(rng.random(7) ** 3)}
        adj = holm(p)
        order = sorted(p, key=p.get)
        assert all(adj[x] <= adj[y] for x, y in zip(order, order[1:]))
        assert all(p[k] <= adj[k] <= 1.0 for k in p)


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = {"a": 0.001, "b": 0.2, "c": 0.013, "d": 0.04, "e": 0.013, "f": 0.9}
    _, ref, _, _ = multitest.multipletests(list(p.values()), method="holm")
    assert list(holm(p).values()) == pytest.approx(list(ref))


def test_holm_rejects_bad_pvalues():
    with pytest.raises(ValueError, match="p-value of 'b' must be a number in"):
        holm({"a": 0.1, "b": float("nan")})
    with pytest.raises(ValueError, match="p-value of 'a'"):
        holm({"a": 1.5})


# --- verdicts -----------------------------------------------------------------------------------------

def test_verdict_rules():
    assert verdict(interval(0.1, 0.02, 0.18), 0.01) == SUPPORTED
    assert verdict(interval(-0.1, -0.18, -0.02), 0.01) == CONTRADICTED
    assert verdict(interval(0.1, 0.02, 0.18), 0.05) == INCONCLUSIVE  # p not below alpha
    assert verdict(interval(0.1, 0.02, 0.18), 0.06, alpha=0.1) == SUPPORTED
    assert verdict(interval(0.1, -0.01, 0.18), 0.001) == INCONCLUSIVE  # interval includes 0
    assert verdict(interval(0.1, 0.0, 0.18), 0.001) == INCONCLUSIVE  # touches 0
    assert verdict(interval(-0.01, 0.02, 0.18), 0.001) == INCONCLUSIVE  # estimate and interval disagree
    assert verdict(interval(0.0, 0.0, 0.0), 1e-9) == INCONCLUSIVE
    assert verdict(interval(float("nan"), 0.1, 0.2), 0.01) == INCONCLUSIVE
    assert verdict(interval(0.1, 0.02, 0.18), float("nan")) == INCONCLUSIVE


def test_verdict_for_losses_flips_the_direction():
    lower = interval(-0.1, -0.18, -0.02)
    assert verdict(lower, 0.01, higher_is_better=False) == SUPPORTED
    assert verdict(interval(0.1, 0.02, 0.18), 0.01, higher_is_better=False) == CONTRADICTED
    assert verdict(interval(-0.1, -0.18, 0.01), 0.01, higher_is_better=False) == INCONCLUSIVE


def test_verdict_on_a_bare_estimate():
    assert verdict(0.05, 0.01) == SUPPORTED and verdict(-0.05, 0.01) == CONTRADICTED
    assert verdict(0.05, 0.2) == INCONCLUSIVE and verdict(0.0, 0.001) == INCONCLUSIVE


def test_ratio_verdict():
    def r(lo, hi):
        return Interval((lo + hi) / 2, lo, hi, 0.01, 0.0001, 3, None, 10000, RATIO_BOOTSTRAP)
    assert ratio_verdict(r(0.15, 0.22)) == SUPPORTED  # at the bound with tolerance
    assert ratio_verdict(r(0.15, 0.2201)) == INCONCLUSIVE
    assert ratio_verdict(r(0.221, 0.3)) == CONTRADICTED
    assert ratio_verdict(r(0.22, 0.3)) == INCONCLUSIVE  # lo at the bound is not above it
    assert ratio_verdict(r(0.9, 1.4)) == CONTRADICTED  # the 0.96x of dynamic batching
    assert ratio_verdict(r(0.25, 0.3), claimed_max=0.3, tolerance=0.0) == SUPPORTED
    assert ratio_verdict(r(float("nan"), float("nan"))) == INCONCLUSIVE
