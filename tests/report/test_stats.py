import math

import pytest

from mosaic.report.stats import T975, mean_ci, metric_values, paired_diff, paired_differences, t975
from mosaic.report.store import RunRecord

NAN = float("nan")


def test_t975_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in range(1, 31):
        assert t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=5e-4), df
    for df in range(1, 400):  # between tabulated values: never narrower than the exact interval
        assert t975(df) >= stats.t.ppf(0.975, df) - 5e-4, df
    assert math.isnan(t975(0)) and math.isnan(t975(-1))
    assert set(range(1, 31)) <= set(T975)


def test_mean_ci_known_values():
    m, h, n = mean_ci([1.0, 2.0, 3.0])
    assert (m, n) == (2.0, 3) and h == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    stats = pytest.importorskip("scipy.stats")
    for xs in ([1.0, 2.0, 3.0], [0.1, 0.4, 0.35, 0.2], [5.0, 7.5], list(map(float, range(12)))):
        m, h, n = mean_ci(xs)
        lo, hi = stats.t.interval(0.95, len(xs) - 1, loc=sum(xs) / len(xs), scale=stats.sem(xs))
        assert m == pytest.approx((lo + hi) / 2) and h == pytest.approx((hi - lo) / 2, rel=2e-4), xs


def test_mean_ci_edges():
    m, h, n = mean_ci([4.0])
    assert (m, n) == (4.0, 1) and math.isnan(h)
    m, h, n = mean_ci([])
    assert math.isnan(m) and math.isnan(h) and n == 0
    m, h, n = mean_ci([None, NAN, 2.0, 4.0])  # missing values are left out
    assert (m, n) == (3.0, 2) and h == pytest.approx(12.706 * math.sqrt(2) / math.sqrt(2))
    assert mean_ci([2.0, 2.0, 2.0])[:2] == (2.0, 0.0)


def run(variant, seed, **metrics):
    return RunRecord(f"{variant}-{seed}", f"{variant}-s{seed}", {"variant": variant}, {"seed": str(seed)}, metrics)


def test_paired_differences_by_seed():
    training = {(r.tags["variant"], r.seed): r for r in (
        run("none", 0, x=1.0), run("none", 1, x=2.0), run("none", 2, x=3.0),
        run("all", 0, x=2.0), run("all", 1, x=2.5), run("all", 3, x=9.0),  # seed 2 / seed 3 unpaired
        run("primary", 0, x=7.0))}
    assert paired_differences(training, "x") == [1.0, 0.5]
    m, h, n = paired_diff(training, "x")
    assert (m, n) == (0.75, 2)
    assert paired_differences(training, "x", a="primary") == [6.0]
    assert metric_values(training, "none", "x") == ([1.0, 2.0, 3.0], ["none-0", "none-1", "none-2"])
    values, ids = metric_values(training, "all", "missing")
    assert all(math.isnan(v) for v in values) and ids == ["all-0", "all-1", "all-3"]
    training[("all", 1)] = run("all", 1)  # a run without the metric: its pair is left out
    assert paired_diff(training, "x")[2] == 1
