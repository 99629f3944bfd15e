"""What the paper reports, as data: the two variants it compares and the metrics of its Table 1."""
from __future__ import annotations

from dataclasses import dataclass

ORIGINAL = "none"  # original instruction tuning (conf/augmentation/none.yaml)
MOSAIC = "all"     # Mosaic-IT with every strategy, the paper's default (conf/augmentation/all.yaml)


@dataclass(frozen=True)
class Metric:
    key: str    # an MLflow metric: "<adapter>/<name>"
    label: str  # its column header

    @property
    def adapter(self) -> str:
        return self.key.split("/", 1)[0]


# Table 1 of the paper, in its column order (a column is shown when its adapter ran in the study).
HEADLINE = (Metric("pairwise/winning_score", "pairwise winning score"),
            Metric("alpaca_eval/win_rate", "AlpacaEval win rate"),
            Metric("alpaca_eval/length_controlled_win_rate", "AlpacaEval LC win rate"),
            Metric("mt_bench/average", "MT-Bench"),
            Metric("lm_eval/average", "lm-eval average"),
            Metric("mosaic_bench/structure_acc", "mosaic-bench structure"),
            Metric("mosaic_bench/both_acc", "mosaic-bench accuracy"))

PARSE_FAILURE = "parse_failure_rate"  # "<adapter>/parse_failure_rate": logged by every adapter with a judge


def parse_failure_key(adapter: str) -> str:
    return f"{adapter}/{PARSE_FAILURE}"

# The reviewers' baselines that `make reproduce` runs (conf/baseline/): their variant names.
TEMPLATE_RANDOM = "template_random"             # single instructions with random format meta-instructions
COMPUTE_MATCHED = "none_compute_matched"        # original IT on as many real tokens as Mosaic-IT
BASELINES = (TEMPLATE_RANDOM, COMPUTE_MATCHED)
LABELS = {ORIGINAL: "original IT", MOSAIC: "Mosaic-IT", TEMPLATE_RANDOM: "template randomisation",
          COMPUTE_MATCHED: "compute-matched original IT"}
