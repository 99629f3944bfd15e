from mosaic.augment.summary import AugmentSummary, percentile


def sample(count, tokens, strategy="format", rule=None, pass_=0, masked=()):
    return {"count": count, "n_tokens": tokens,
            "provenance": {"strategy": strategy, "rule": rule, "pass": pass_, "masked": list(masked)}}


def test_statistics_and_merge():
    a, b = AugmentSummary(), AugmentSummary()
    a.add(sample(2, 100))
    a.add(sample(4, 600, "maskout", "odd", masked=[0, 2]))
    b.add(sample(6, 5000, "permute", "alpha", pass_=1))
    a.merge(b)
    d = a.as_dict()
    assert d["samples"] == 3 and d["rows_used"] == 12 and d["masked_responses"] == 2
    assert d["count"]["mean"] == 4 and d["count"]["p50"] == 4 and d["count"]["max"] == 6
    assert d["tokens"]["histogram"] == {"0-127": 1, "512-767": 1, ">=4096": 1}
    assert d["rules"] == {"maskout/odd": 1, "permute/alpha": 1}
    assert d["samples_per_pass"] == {"0": 2, "1": 1}


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([], 0.9) == 0.0
