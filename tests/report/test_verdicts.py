"""The verdict rules, one by one, and the wordings REPORT.md shows for them."""

import pytest

from mosaic.report import claims as C
from mosaic.report import cost_claim as K
from mosaic.report.store import RunRecord
from mosaic.report.verdicts import effect_outcome, effect_verdict, parsed_share, ranking_outcome, ranking_verdict

NAN = float("nan")


def claim(id: str) -> C.Claim:
    return next(c for c in C.CLAIMS if c.id == id)


@pytest.mark.parametrize("m,h,n,expected", [
    (0.3, 0.1, 3, C.SUPPORTED),   # interval above 0
    (-0.3, 0.1, 3, C.WORSE),      # interval below 0
    (0.05, 0.1, 3, C.NOISE),      # interval includes 0
    (-0.05, 0.1, 3, C.NOISE),
    (0.1, 0.1, 3, C.NOISE),       # touching 0 is not above it
    (0.3, NAN, 1, C.TOO_FEW),     # one seed: no interval
    (0.3, 0.1, 1, C.TOO_FEW),
    (NAN, NAN, 0, C.TOO_FEW),     # no values
    (0.3, NAN, 2, C.TOO_FEW),     # NaN interval
])
def test_paired_difference(m, h, n, expected):
    assert effect_outcome(m, h, n) == expected


def test_parity_value_is_the_null():
    assert effect_outcome(1.3, 0.2, 3, null=1.0) == C.SUPPORTED
    assert effect_outcome(0.7, 0.2, 3, null=1.0) == C.WORSE
    assert effect_outcome(1.1, 0.2, 3, null=1.0) == C.NOISE
    assert effect_outcome(0.5, 0.2, 3, null=0.0) == C.SUPPORTED  # the same numbers against 0


def test_judge_parsed_under_half_is_not_testable_whatever_the_numbers():
    assert effect_outcome(0.3, 0.1, 3, parsed=0.49) == C.UNPARSED
    assert effect_outcome(0.3, NAN, 1, parsed=0.2) == C.UNPARSED  # checked before the seed count
    assert effect_outcome(0.3, 0.1, 3, parsed=0.5) == C.SUPPORTED
    assert effect_outcome(0.3, 0.1, 3, parsed=None) == C.SUPPORTED  # no judge: no precondition


def test_parsed_share():
    assert parsed_share([0.2, 0.4, NAN]) == pytest.approx(0.7)
    assert parsed_share([NAN, None]) == 0.0 and parsed_share([]) == 0.0


def test_small_effect():
    assert effect_outcome(0.03, 0.01, 3, small_effect=0.05) == C.SMALL
    assert effect_outcome(0.08, 0.01, 3, small_effect=0.05) == C.SUPPORTED
    assert effect_outcome(0.03, 0.01, 3) == C.SUPPORTED


def test_headline_wordings():
    alpaca = claim("alpaca_eval_win_rate")
    judge = "openai gpt-4o"
    assert effect_verdict(alpaca, 5.0, 1.0, 3, 0.9, judge) == "supported at this scale"
    assert effect_verdict(alpaca, -5.0, 1.0, 3, 0.9, judge) == "not supported: Mosaic-IT is worse at this scale"
    assert effect_verdict(alpaca, 0.5, 1.0, 3, 0.9, judge) == "inconclusive: the 95% interval over seeds includes 0"
    assert effect_verdict(alpaca, 5.0, NAN, 1, 0.9, judge) == \
        "not testable at this scale (fewer than two paired seeds or no parsed judgments)"
    assert effect_verdict(alpaca, 5.0, 1.0, 3, 0.34, judge) == \
        "not testable at this scale: the judge (openai gpt-4o) parsed 34% of its judgments"
    lm_eval = claim("lm_eval_average")  # not judged: the parse rate does not apply
    assert not lm_eval.judged and effect_verdict(lm_eval, 5.0, 1.0, 3, 0.0, judge) == "supported at this scale"
    pairwise = claim("pairwise_winning_score")
    assert pairwise.kind == C.PARITY and pairwise.null == 1.0
    assert effect_verdict(pairwise, 1.2, 0.1, 3, 0.9, judge) == "supported at this scale"


def test_the_local_judge_only_checks_the_pipeline_whatever_it_parsed():
    local = "local SmolLM2-135M-Instruct"
    for c in (claim("alpaca_eval_win_rate"), claim("mt_bench_score"), claim("pairwise_winning_score")):
        for parsed in (0.0, 0.34, 1.0):
            assert effect_verdict(c, 5.0, 1.0, 3, parsed, local) == (
                f"pipeline check: the local judge cannot judge (it parsed {parsed:.0%} of its judgments); "
                "a result needs `judge=openai`")
    assert effect_verdict(claim("lm_eval_average"), 5.0, 1.0, 3, 0.0, local) == "supported at this scale"


def _cost_runs(mosaic_hours, original_hours, regime="dynamic") -> dict:
    out = {}
    for v, hours in (("all", mosaic_hours), ("none", original_hours)):
        for s, h in enumerate(hours):
            out[(v, s)] = RunRecord(f"{v}-{s}", None, params={"train.regime": regime},
                                    metrics={K.DEVICE_HOURS: h, K.WALL: h * 3600})
    return out


@pytest.mark.parametrize("mosaic,original,expected", [
    ((0.10, 0.11, 0.09), (1.0, 1.0, 1.0), K.SUPPORTED),        # ~0.10x, interval under 0.22
    ((0.21, 0.215, 0.205), (1.0, 1.0, 1.0), K.SUPPORTED),      # within the stated tolerance
    ((1.30, 1.40, 1.35), (1.0, 1.0, 1.0), K.CONTRADICTED),     # Mosaic-IT costs more
    ((0.25, 0.24, 0.26), (1.0, 1.0, 1.0), K.CONTRADICTED),     # 0.25x is not 80% lower
    ((0.05, 0.60, 0.10), (1.0, 1.0, 1.0), K.INCONCLUSIVE),     # straddles 0.22
    ((0.10,), (1.0,), K.NOT_TESTED),                           # one seed: no interval
])
def test_cost_verdict_threshold_is_the_claim_itself(mosaic, original, expected):
    m = K.measured(_cost_runs(mosaic, original))
    assert K.outcome(m) == expected
    assert K.verdict_text(m).startswith(expected.replace("_", " "))


def test_cost_without_runs_is_not_tested_and_plan_is_labelled_arithmetic():
    assert K.measured({}) is None and K.outcome(None) == K.NOT_TESTED
    plans = K.plan({"mosaic_over_original": {"static_pad": {"sequences": 0.25, "processed_tokens": 0.25,
                                                            "real_tokens": 1.3, "device_hours": 0.26}}})
    text = K.evidence_text(K.measured(_cost_runs((1.3, 1.4), (1.0, 1.0))), plans)
    assert "measured on this study's training runs (dynamic batching, 2 seeds)" in text
    assert "plan arithmetic, not a measurement" in text and "static_pad 0.25x tokens / 0.26x device-hours" in text
    numbers = K.numbers(None, plans)
    assert numbers["verdict"] == K.NOT_TESTED and "measured" not in numbers


def _items(good_all: int, good_none: int, n: int = 40, seeds=(0, 1, 2), vocab="heldout") -> dict:
    rows = lambda good: [{"id": f"i{k:02d}", "vocabulary": vocab, "structure_ok": k < good} for k in range(n)]
    return {**{("all", s): {"mosaic_bench": rows(good_all)} for s in seeds},
            **{("none", s): {"mosaic_bench": rows(good_none)} for s in seeds}}


def _follow(items):
    from mosaic.report.item_claims import ITEM_CLAIMS, item_findings
    from mosaic.report.store import RunRecord

    training = {k: RunRecord(f"run-{k[0]}-{k[1]}", None) for k in items}
    claims = [c for c in ITEM_CLAIMS if c.id == "mosaic_following"]
    return item_findings(items, training, claims)


def test_item_level_verdicts_follow_the_interval_and_holm():
    (f,) = _follow(_items(24, 4))
    assert f.numbers["estimate"] == pytest.approx(0.5) and f.numbers["lo"] > 0
    assert f.verdict.startswith("supported at this scale (Holm-adjusted p = ")
    (f,) = _follow(_items(4, 24))
    assert f.verdict.startswith("contradicted at this scale: Mosaic-IT is worse")
    (f,) = _follow(_items(3, 2))  # one discordant item: the interval includes 0
    assert f.verdict == "inconclusive: the 95% interval includes 0" and f.numbers["lo"] <= 0 <= f.numbers["hi"]
    assert "minimum detectable effect" in f.evidence and f.numbers["mde"] > 0
    (same,) = _follow(_items(2, 2))  # no item differs: se 0, yet one item in 40 must flip to see anything
    assert same.numbers["se"] == 0 and same.numbers["mde"] == pytest.approx(2.8016 / 40, rel=1e-3)
    assert _follow(_items(24, 4, vocab="train")) == []  # training-vocabulary items are not evidence of a skill


def test_holm_makes_a_marginal_claim_inconclusive_when_several_are_tested():
    from mosaic.report.item_claims import ITEM_CLAIMS, item_findings
    from mosaic.report.store import RunRecord

    items = _items(9, 4, n=60)
    for key, sources in items.items():  # a second claim with the same evidence: Holm doubles the smaller p
        sources["verifiable"] = [{"id": r["id"], "correct": r["structure_ok"]} for r in sources["mosaic_bench"]]
    training = {k: RunRecord(f"run-{k[0]}-{k[1]}", None) for k in items}
    alone = item_findings(items, training, [c for c in ITEM_CLAIMS if c.id == "mosaic_following"])[0]
    both = {f.claim.id: f for f in item_findings(items, training, [c for c in ITEM_CLAIMS
                                                                  if c.id in ("mosaic_following", "verifiable")])}
    assert alone.numbers["p_holm"] == alone.numbers["p"]
    assert both["mosaic_following"].numbers["p_holm"] == pytest.approx(min(1.0, 2 * alone.numbers["p"]))


def test_ranking():
    assert ranking_outcome({"all": 0.5, "primary": 0.4, "format": 0.1}, "all") == (C.CONSISTENT, False)
    assert ranking_outcome({"all": 0.3, "primary": 0.4}, "all") == (C.NOT_BEST, False)
    assert ranking_outcome({"all": 0.4, "primary": 0.4, "format": 0.1}, "all") == (C.NOT_BEST, True)
    assert ranking_outcome({"all": 0.1, "primary": 0.4, "format": 0.4}, "all") == (C.NOT_BEST, True)


def test_ranking_wordings():
    c = claim("strategy_ranking")
    assert ranking_verdict(c, {"all": 0.5, "primary": 0.4}, "single seeds") == \
        "consistent with the paper (single seeds: indicative only)"
    assert ranking_verdict(c, {"all": 0.3, "primary": 0.4}, "single seeds") == \
        "not supported at this scale (single seeds: indicative only)"
    assert ranking_verdict(c, {"all": 0.4, "primary": 0.4}, "single seeds on a small benchmark") == \
        "not supported at this scale (a tie) (single seeds on a small benchmark: indicative only)"


def test_every_claim_is_a_complete_record():
    ids = [c.id for c in C.CLAIMS]
    assert len(ids) == len(set(ids))
    kinds = {C.PAIRED: {C.SUPPORTED, C.WORSE, C.NOISE, C.TOO_FEW}, C.PARITY: {C.SUPPORTED, C.WORSE, C.NOISE, C.TOO_FEW},
             C.COST_RATIO: set(),  # cost_claim.py words it
             C.RANKING: {C.CONSISTENT, C.NOT_BEST, C.TIE, C.CAVEAT, C.NO_DATA, C.FEW_SEEDS}, C.SHOWN: {C.AS_STATED}}
    for c in C.CLAIMS:
        if c.kind == C.COST_RATIO:
            continue
        assert c.paper and c.metric and "data" in c.evidence, c.id
        assert kinds[c.kind] <= set(c.verdicts), c.id
        if c.judged:
            assert {C.UNPARSED, C.PIPELINE} <= set(c.verdicts) and c.thresholds["min_parsed"] == 0.5, c.id
        if c.thresholds.get("small_effect"):
            assert C.SMALL in c.verdicts, c.id


def test_curve_mean_is_the_trapezoid_area_over_the_shared_range():
    from mosaic.report.item_claims import over_range, shared_range

    assert over_range([(0, 2.0), (100, 1.0)], 100) == pytest.approx(1.5)
    assert over_range([(0, 2.0), (100, 1.0), (300, 1.0)], 200) == pytest.approx((150 + 100) / 200)
    assert over_range([(0, 2.0), (200, 1.0)], 100) == pytest.approx(1.75)  # the last segment is cut at T
    with pytest.raises(ValueError, match="from 0 to at least 400"):
        over_range([(0, 2.0), (300, 1.0)], 400)
    rows = lambda *xs: [{"real_tokens_seen": x} for x in xs]
    assert shared_range([{0: rows(0, 300), 1: rows(0, 310)}, {0: rows(0, 330)}]) == 300
