"""The verdict rules: evidence (estimate, interval, n, preconditions) -> a verdict outcome, and the
outcome -> the claim's wording. Pure functions over numbers and :class:`~mosaic.report.claims.Claim`
records."""
from __future__ import annotations

import math
from typing import Mapping

from .claims import (CAVEAT, CONSISTENT, LOCAL_JUDGE, NOISE, NOT_BEST, PIPELINE, SMALL, SUPPORTED, TIE, TOO_FEW,
                     UNPARSED, WORSE, Claim)


def parsed_share(failure_rates) -> float:
    """Share of judgments that parsed, from per-run parse-failure rates (0 when no run has one)."""
    rates = [x for x in failure_rates if x is not None and not math.isnan(x)]
    return 1 - sum(rates) / len(rates) if rates else 0.0


def effect_outcome(m: float, h: float, n: int, null: float = 0.0, parsed: float | None = None,
                   min_parsed: float = 0.5, small_effect: float | None = None) -> str:
    """A mean (difference) ``m`` with 95% half-width ``h`` over ``n`` seeds, against ``null``:

    UNPARSED when the judge parsed under ``min_parsed`` of its judgments (``parsed`` given);
    TOO_FEW when n < 2 or there is no interval; SUPPORTED when the interval lies above ``null``
    (SMALL when ``small_effect`` is set and the estimate exceeds ``null`` by less than it);
    WORSE when it lies below; NOISE when it includes ``null``."""
    if parsed is not None and parsed < min_parsed:
        return UNPARSED
    if n < 2 or math.isnan(h):
        return TOO_FEW
    if m - h > null:
        return SMALL if small_effect is not None and m - null < small_effect else SUPPORTED
    if m + h < null:
        return WORSE
    return NOISE


def effect_verdict(claim: Claim, m: float, h: float, n: int, parsed: float | None = None, judge: str = "") -> str:
    """A judged claim under the local judge (the tuned model judging itself) is a pipeline check
    whatever it parsed: a 135M judge cannot tell better answers from worse ones."""
    if claim.judged and judge.startswith(LOCAL_JUDGE):
        return claim.verdicts[PIPELINE].format(judge=judge, parsed=parsed or 0.0)
    outcome = effect_outcome(m, h, n, claim.null, parsed if claim.judged else None,
                             claim.thresholds.get("min_parsed", 0.5), claim.thresholds.get("small_effect"))
    return claim.verdicts[outcome].format(judge=judge, parsed=parsed)


def ranking_outcome(scores: Mapping[str, float], expected: str) -> tuple[str, bool]:
    """(CONSISTENT when ``expected`` alone scores best, else NOT_BEST; whether the best is a tie)."""
    best = max(scores.values())
    top = sorted(v for v, a in scores.items() if a == best)
    return (CONSISTENT if top == [expected] else NOT_BEST), len(top) > 1


def ranking_verdict(claim: Claim, scores: Mapping[str, float], caveat: str) -> str:
    outcome, tie = ranking_outcome(scores, claim.expected_best)
    return (claim.verdicts[outcome] + (claim.verdicts[TIE] if tie else "")
            + claim.verdicts[CAVEAT].format(caveat=caveat))
