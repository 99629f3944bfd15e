"""The paper's claims as records: what is claimed, the metric it is tested on, how (the comparison),
the thresholds, the preconditions and the wording of each verdict. ``verdicts.py`` holds the rules
that turn evidence into a verdict; ``report_md.py`` writes them into REPORT.md."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .paper import MOSAIC

# Comparison kinds.
PAIRED = "paired"          # Mosaic-IT minus original IT, paired by seed, 95% CI against 0
PARITY = "parity"          # one-sample over Mosaic-IT's seeds, 95% CI against a parity value
COST_RATIO = "cost_ratio"  # Mosaic-IT / original device-hours: measured runs and plan arithmetic (cost_claim.py)
RANKING = "ranking"        # which strategy variant scores best
SHOWN = "shown"            # evidence shown, the claim not tested as stated (one fixed verdict)

# Verdict outcomes: the keys of ``Claim.verdicts``.
SUPPORTED, SMALL, WORSE, NOISE, TOO_FEW, UNPARSED = "supported", "small", "worse", "noise", "too_few", "unparsed"
PIPELINE = "pipeline"  # a judged claim with the local judge: the run checks the pipeline, it tests nothing
LOCAL_JUDGE = "local"  # judge names starting with this are the tuned model judging itself (conf/judge/local.yaml)
CONSISTENT, NOT_BEST, TIE, CAVEAT = "consistent", "not_best", "tie", "caveat"
NO_DATA, AS_STATED, FEW_SEEDS = "no_data", "as_stated", "few_seeds"
MIN_RANKING_SEEDS = 3  # a strategy ranking from fewer seeds per variant is "not tested"


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str                 # the claim in the paper's words (REPORT.md's first column)
    kind: str                  # a comparison kind above
    metric: str | None = None  # an MLflow metric; for COST_RATIO a key of cost.json's mosaic_over_original
    null: float = 0.0          # "no effect": 0 for a difference, the parity value for PARITY
    thresholds: Mapping[str, float] = field(default_factory=dict)
    judged: bool = False       # precondition: the metric's judge parsed at least thresholds["min_parsed"]
    evidence: Mapping[str, str] = field(default_factory=dict)  # format strings: "data", "no_data", sources
    verdicts: Mapping[str, str] = field(default_factory=dict)  # outcome -> wording (format strings)
    shown_without_data: bool = True  # False: no REPORT.md row when there is no evidence at all
    expected_best: str = MOSAIC      # RANKING: the variant the paper ranks first
    digits: int = 3                  # decimals of the estimate in the evidence


HEADLINE_VERDICTS = {
    SUPPORTED: "supported at this scale",
    WORSE: "not supported: Mosaic-IT is worse at this scale",
    NOISE: "inconclusive: the 95% interval over seeds includes 0",
    TOO_FEW: "not testable at this scale (fewer than two paired seeds or no parsed judgments)",
    UNPARSED: "not testable at this scale: the judge ({judge}) parsed {parsed:.0%} of its judgments",
    PIPELINE: "pipeline check: the local judge cannot judge (it parsed {parsed:.0%} of its judgments); a result "
              "needs `judge=openai`",
}
PAIRED_EVIDENCE = {"data": "difference {estimate} (n={n} seeds)"}
JUDGE_PARSED = {"min_parsed": 0.5}


def _paired(id: str, paper: str, metric: str, judged: bool) -> Claim:
    return Claim(id, paper, PAIRED, metric, judged=judged, thresholds=JUDGE_PARSED if judged else {},
                 evidence=PAIRED_EVIDENCE, verdicts=HEADLINE_VERDICTS)


CLAIMS: tuple[Claim, ...] = (
    _paired("alpaca_eval_win_rate", "better AlpacaEval win rate", "alpaca_eval/win_rate", judged=True),
    _paired("mt_bench_score", "better MT-Bench score", "mt_bench/average", judged=True),
    Claim("pairwise_winning_score", "better pairwise winning score vs original", PARITY, "pairwise/winning_score",
          null=1.0, judged=True, thresholds=JUDGE_PARSED,
          evidence={"data": "winning score {estimate} (n={n}; 1.0 = parity)"}, verdicts=HEADLINE_VERDICTS),
    _paired("lm_eval_average", "better lm-eval average (Open LLM Leaderboard role)", "lm_eval/average", judged=False),
    Claim("training_cost", "80% lower training cost", COST_RATIO),  # evidence and verdict: cost_claim.py
    Claim("faster_convergence", "faster convergence (Figure 4)", SHOWN, "cost/device_hours",
          evidence={"data": "training losses are on different targets (mosaic samples vs single examples) and not "
                            "compared; no held-out probe curves in this study (`probe.every_real_tokens`), so "
                            "nothing comparable was measured; training device-hours, Mosaic-IT minus original: "
                            "{estimate} (n={n})"},
          digits=5,
          verdicts={AS_STATED: "not tested: no held-out loss curves (item_claims.py tests it when they exist)"}),
    Claim("strategy_ranking", "strategy ranking (all strategies best)", RANKING, "mosaic_bench/structure_acc",
          evidence={"data": "{source}: {ranking}", "no_data": "single-strategy variants not run",
                    "variants": "mosaic-bench structure accuracy, one seed each",
                    "variants_caveat": "single seeds",
                    "sweep": "`make ablations` sweep (`{settings}`), mosaic-bench structure accuracy, one seed each",
                    "sweep_caveat": "single seeds on a small benchmark"},
          verdicts={CONSISTENT: "consistent with the paper", NOT_BEST: "not supported at this scale",
                    TIE: " (a tie)", CAVEAT: " ({caveat}: indicative only)",
                    FEW_SEEDS: "not tested: {n} seed(s) per variant, a ranking needs at least 3 with intervals "
                               "(the order shown is indicative only)",
                    NO_DATA: "not tested (`make reproduce EXTRA=1` or `make ablations`)"}),
)
