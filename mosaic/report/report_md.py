"""REPORT.md: each claim of the paper (``claims.CLAIMS``), the evidence at this scale, a verdict."""
from __future__ import annotations

from dataclasses import dataclass, field

from .claims import CLAIMS, COST_RATIO, FEW_SEEDS, MIN_RANKING_SEEDS, NO_DATA, PARITY, PAIRED, RANKING, SHOWN, AS_STATED, Claim
from .item_claims import item_findings
from .order import strategy_variants
from .paper import MOSAIC, ORIGINAL, parse_failure_key
from .stats import mean_ci, metric_values, paired_diff, paired_seeds
from .store import model_name
from .sweeps import StrategyScores
from .tables import Table, fmt
from . import cost_claim
from .verdicts import effect_verdict, parsed_share, ranking_verdict

FIGURE_NOTES = {"count_distributions": " (Figure 3)", "loss_curves": " (Figure 4: held-out loss vs real tokens)"}


@dataclass
class Finding:
    claim: Claim
    evidence: str
    verdict: str
    run_ids: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)  # for summary.json

    def row(self) -> str:
        return f"| {self.claim.paper} | {self.evidence} | {self.verdict} |"


def _paired_runs(training: dict) -> list[str]:
    return sorted(training[(v, s)].run_id for s in paired_seeds(training) for v in (MOSAIC, ORIGINAL))


def effect_finding(claim: Claim, training: dict, judge: str) -> Finding | None:
    if claim.kind == PARITY:
        values, ids = metric_values(training, MOSAIC, claim.metric)
        m, h, n = mean_ci(values)
    else:
        (m, h, n), ids = paired_diff(training, claim.metric), _paired_runs(training)
    if n == 0 and not claim.shown_without_data:
        return None
    evidence = claim.evidence["data"].format(estimate=fmt(m, h, claim.digits), n=n)
    if claim.kind == SHOWN:
        return Finding(claim, evidence, claim.verdicts[AS_STATED], ids)
    parsed = None
    if claim.judged:
        adapter = claim.metric.split("/", 1)[0]
        parsed = parsed_share(r.metrics.get(parse_failure_key(adapter), float("nan")) for r in training.values())
    return Finding(claim, evidence, effect_verdict(claim, m, h, n, parsed, judge), ids)


def cost_finding(claim: Claim, training: dict, cost: dict | None, cost_run_id: str | None) -> Finding:
    """Measured on the study's training runs; the cost run's plans as labelled arithmetic (cost_claim.py)."""
    m, plans = cost_claim.measured(training), cost_claim.plan(cost)
    ids = sorted((m.run_ids if m else []) + ([cost_run_id] if cost_run_id and plans else []))
    numbers = {**cost_claim.numbers(m, plans), "plan_run_id": cost_run_id if plans else None}
    return Finding(claim, cost_claim.evidence_text(m, plans), cost_claim.verdict_text(m), ids, numbers)


def ranking_finding(claim: Claim, training: dict, sweep: StrategyScores) -> Finding:
    ablation = [v for v in strategy_variants() if any(x == v for x, _ in training)]
    if ablation:  # single-strategy variants of this study (make reproduce EXTRA=1) before the sweep
        variants = ablation + [claim.expected_best]
        cis = {v: mean_ci(metric_values(training, v, claim.metric)[0]) for v in variants}
        scores = {v: ci[0] for v, ci in cis.items()}
        ids = sorted(i for v in variants for i in metric_values(training, v, claim.metric)[1])
        source, caveat = claim.evidence["variants"], claim.evidence["variants_caveat"]
        seeds = min(ci[2] for ci in cis.values())
    elif claim.expected_best in sweep.scores and len(sweep.scores) > 1:
        scores, ids, cis = sweep.scores, sorted(sweep.run_ids), {}
        source, caveat, seeds = claim.evidence["sweep"], claim.evidence["sweep_caveat"], 1
    else:
        return Finding(claim, claim.evidence["no_data"], claim.verdicts[NO_DATA])
    ranking = " > ".join(f"{v} ({fmt(*cis[v][:2], 3) if v in cis and seeds >= MIN_RANKING_SEEDS else f'{a:.3f}'})"
                         for v, a in sorted(scores.items(), key=lambda x: -x[1]))
    verdict = (ranking_verdict(claim, scores, caveat) if seeds >= MIN_RANKING_SEEDS
               else claim.verdicts[FEW_SEEDS].format(n=seeds))
    return Finding(claim, claim.evidence["data"].format(source=source.format(settings=sweep.settings), ranking=ranking),
                   verdict, ids)


def findings(training: dict, cost: dict | None, cost_run_id: str | None, judge: str,
             sweep: StrategyScores, items: dict | None = None) -> list:
    """Seed-level findings (``CLAIMS``), then item-level ones (``item_claims``); an item-level finding
    replaces the seed-level claim it names in ``replaces``."""
    by_items = item_findings(items or {}, training)
    replaced = {f.claim.replaces for f in by_items}
    out = []
    for claim in (c for c in CLAIMS if c.id not in replaced):
        if claim.kind in (PAIRED, PARITY, SHOWN):
            f = effect_finding(claim, training, judge)
        elif claim.kind == COST_RATIO:
            f = cost_finding(claim, training, cost, cost_run_id)
        elif claim.kind == RANKING:
            f = ranking_finding(claim, training, sweep)
        else:
            raise ValueError(f"claim {claim.id}: unknown comparison kind {claim.kind!r}")
        if f is not None:
            out.append(f)
    return out + by_items


def render(study: str, training: dict, judge: str, found: list, tables: list[Table], figures: list[str]) -> str:
    arms = sorted({v for v, _ in training}, key=lambda v: (v not in (ORIGINAL, MOSAIC), v != ORIGINAL, v))
    seeds = "; ".join(f"{v} {sorted(s for x, s in training if x == v)}" for v in arms)
    lines = ["# Mosaic-IT claims at CPU scale\n",
             f"Study `{study}`; model {model_name(training)}; seeds per arm: {seeds}; judge {judge}. Every number is "
             "in `results/tables/` and `results/summary.json` (`claims`, with the MLflow run ids it came from), and "
             "every item in `results/items/`. Differences are Mosaic-IT minus the other arm: seed-level rows pair runs "
             "by seed (95% Student-t interval); item-level rows pair by seed and item (95% bootstrap interval over "
             "seeds and items, Holm-corrected across the item-level claims). An interval that includes 0 is "
             "inconclusive.\n",
             "| claim (paper) | evidence here | verdict |", "|---|---|---|"]
    lines += [f.row() for f in found]
    lines += ["", "Tables: " + ", ".join(f"`tables/{t.name}.md`" for t in tables) + ".",
              "Figures: " + ", ".join(f"`figures/{f}.png`{FIGURE_NOTES.get(f, '')}" for f in figures) + ".", ""]
    return "\n".join(lines)
