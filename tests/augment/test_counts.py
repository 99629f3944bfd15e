"""Count distributions: 10k draws against the exact distribution of the released sampler."""
import random

import pytest
from scipy import stats

from mosaic.augment.counts import HARD_MAX_ITEMS, draw_count, expected_pmf

MODES = ["uniform", "exp", "pareto", "lognormal", "logistic"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("max_count", [10, 4])
def test_draws_follow_expected_distribution(mode, max_count):
    rng = random.Random(f"counts-{mode}-{max_count}")
    draws = [draw_count(mode, rng, max_count) for _ in range(10_000)]
    pmf = expected_pmf(mode, max_count)
    assert abs(sum(pmf.values()) - 1) < 1e-9
    assert set(draws) <= set(pmf) and min(draws) >= 1 and max(draws) <= max_count
    support = [c for c in sorted(pmf) if pmf[c] * 10_000 >= 5]  # pool sparse cells into the rest
    observed = [draws.count(c) for c in support] + [sum(1 for d in draws if d not in support)]
    expected = [pmf[c] * 10_000 for c in support] + [10_000 - sum(pmf[c] * 10_000 for c in support)]
    if expected[-1] < 1e-6:
        observed, expected = observed[:-1], expected[:-1]
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_released_code_probabilities():
    # From a 2e5-draw simulation of the released sampler (notes: paper.md, section 1.2).
    assert expected_pmf("pareto", 10)[10] == pytest.approx(0.728, abs=0.002)
    assert expected_pmf("exp", 10)[10] == pytest.approx(0.631, abs=0.002)
    assert expected_pmf("lognormal", 10)[10] == pytest.approx(0.505, abs=0.002)
    assert expected_pmf("logistic", 10)[10] == pytest.approx(0.248, abs=0.002)
    assert sum(c * p for c, p in expected_pmf("logistic", 10).items()) == pytest.approx(7.83, abs=0.01)


def test_fixed_modes_and_errors():
    rng = random.Random(0)
    assert {draw_count("fix_max", rng, 7) for _ in range(50)} == {7}
    assert draw_count("max_length", rng, 7) == HARD_MAX_ITEMS
    with pytest.raises(ValueError, match="unknown wrap_mode"):
        draw_count("zipf", rng, 3)
    with pytest.raises(ValueError):
        draw_count("uniform", rng, 0)
