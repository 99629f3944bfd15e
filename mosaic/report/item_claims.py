"""Claims tested item by item: Mosaic-IT minus original IT on per-item scores (``items.py``), paired by
seed and item with the bootstrap of ``paired.py``, Holm-corrected across these claims, and worded by
``paired.verdict``: supported / contradicted / inconclusive (an interval that includes 0 is always
inconclusive). Each finding prints the minimum detectable effect at its size, so "inconclusive" says
how large an effect could have gone unseen: (z_0.975 + z_0.8) x the bootstrap SE, and for 0/1 scores at
least that of one discordant item in n (2.8 / n), since an SE of 0 only means no item differed.

A claim appears only where its items exist (older runs lack per-item scores for some sources).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from .paired import CONTRADICTED, INCONCLUSIVE, SUPPORTED, holm, min_detectable_effect, paired_bootstrap, verdict
from .paper import MOSAIC, ORIGINAL

ALPHA = 0.05
WORDING = {SUPPORTED: "supported at this scale (Holm-adjusted p = {p:.3g})",
           CONTRADICTED: "contradicted at this scale: Mosaic-IT is worse (Holm-adjusted p = {p:.3g})",
           INCONCLUSIVE: "inconclusive: {why}"}


@dataclass(frozen=True)
class ItemClaim:
    id: str
    paper: str                           # REPORT.md's first column
    source: str                          # a source of items.py
    score: Callable[[dict], float]       # an item row -> its score
    measure: str                         # what the score is, for the evidence column
    where: Callable[[dict], bool] = lambda row: True
    higher_is_better: bool = True
    digits: int = 3
    note: str = ""
    replaces: str | None = None          # the seed-level claim (claims.CLAIMS) this one supersedes


def _nll(row: dict) -> float:
    return row["nll_sum"] / max(1, row["tokens"])


ITEM_CLAIMS: tuple[ItemClaim, ...] = (
    ItemClaim("heldout_nll", "better quality, judge-free: lower held-out response loss", "heldout", _nll,
              "held-out response NLL per token (final weights, single-instruction format)",
              where=lambda r: r["final"] and r["set"] == "single", higher_is_better=False),
    ItemClaim("verifiable", "better quality, judge-free: held-out verifiable tasks", "verifiable",
              lambda r: float(r["correct"]), "exact-match accuracy on held-out verifiable tasks"),
    ItemClaim("lm_eval_items", "better lm-eval (Open LLM Leaderboard role)", "lm_eval",
              lambda r: float(next(v for k, v in r.items() if k not in ("id", "task", "run_id"))),
              "lm-eval score per document (the task's headline metric)", replaces="lm_eval_average"),
    ItemClaim("mosaic_following", "(new) Mosaic-IT teaches following multi-instruction meta-instructions",
              "mosaic_bench", lambda r: float(r["structure_ok"]),
              "mosaic-bench structure accuracy on held-out vocabulary",
              where=lambda r: r["vocabulary"] == "heldout",
              note="; training-vocabulary items are memorised wording, not counted"),
)


@dataclass
class ItemFinding:
    claim: ItemClaim
    evidence: str
    verdict: str
    run_ids: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)  # for summary.json

    def row(self) -> str:
        return f"| {self.claim.paper} | {self.evidence} | {self.verdict} |"


def scores(items: Mapping[tuple[str, int], dict], variant: str, claim: ItemClaim) -> dict[int, dict[str, float]]:
    """seed -> {item id: score} of ``variant``'s runs that have the claim's source."""
    out = {}
    for (v, seed), sources in items.items():
        rows = [r for r in sources.get(claim.source, []) if claim.where(r)]
        if v == variant and rows:
            out[seed] = {str(r.get("item", r["id"])): claim.score(r) for r in rows}
    return out


def _binary(*arms) -> bool:
    return all(v in (0.0, 1.0) for arm in arms for seed in arm.values() for v in seed.values())


def item_findings(items: Mapping[tuple[str, int], dict], training: Mapping, claims=ITEM_CLAIMS) -> list[ItemFinding]:
    """One finding per claim with items in both arms; Holm across them."""
    tested = []
    for c in claims:
        a, b = scores(items, MOSAIC, c), scores(items, ORIGINAL, c)
        if set(a) & set(b):
            tested.append((c, paired_bootstrap(a, b), sorted(set(a) & set(b))))
    adjusted = holm({c.id: iv.p for c, iv, _ in tested})
    out = []
    for c, iv, seeds in tested:
        p, mde = adjusted[c.id], min_detectable_effect(iv.se)
        if _binary(a, b):  # no discordant item gives se = 0: at least one item must flip to be detected
            mde = max(mde, min_detectable_effect(1 / iv.n_items))
        outcome = verdict(iv, p, ALPHA, c.higher_is_better)
        why = ("the 95% interval includes 0" if iv.lo <= 0 <= iv.hi
               else f"Holm-adjusted p = {p:.3g} is not below {ALPHA}")
        d = c.digits
        evidence = (f"{c.measure}, Mosaic-IT minus original: {iv.estimate:+.{d}f} [{iv.lo:+.{d}f}, {iv.hi:+.{d}f}] "
                    f"({iv.n_seeds} seeds x {iv.n_items} items, {iv.method}; minimum detectable effect "
                    f"{mde:.{d}f}){c.note}")
        ids = sorted(training[(v, s)].run_id for s in seeds for v in (MOSAIC, ORIGINAL))
        numbers = {"estimate": iv.estimate, "lo": iv.lo, "hi": iv.hi, "se": iv.se, "p": iv.p, "p_holm": p,
                   "mde": mde, "n_seeds": iv.n_seeds, "n_items": iv.n_items, "verdict": outcome, "run_ids": ids}
        out.append(ItemFinding(c, evidence, WORDING[outcome].format(p=p, why=why), ids, numbers))
    return out
