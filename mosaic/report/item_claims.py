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
from .paper import COMPUTE_MATCHED, LABELS, MOSAIC, ORIGINAL, TEMPLATE_RANDOM

ALPHA = 0.05
WORDING = {SUPPORTED: "supported at this scale (Holm-adjusted p = {p:.3g})",
           CONTRADICTED: "contradicted at this scale: {first} is worse than {second} (Holm-adjusted p = {p:.3g})",
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
    arms: tuple[str, str] = (MOSAIC, ORIGINAL)  # the difference is arms[0] minus arms[1]
    curve: bool = False                  # score = mean of the item's held-out curve over shared real tokens


def _nll(row: dict) -> float:
    return row["nll_sum"] / max(1, row["tokens"])


def _final_single(row: dict) -> bool:
    return row["final"] and row["set"] == "single"


def _single(row: dict) -> bool:
    return row["set"] == "single"


def _baseline_claims(baseline: str, what: str) -> tuple[ItemClaim, ...]:
    arms = (MOSAIC, baseline)
    return (ItemClaim(f"{baseline}_heldout_nll", f"(reviewers) Mosaic-IT beats {what}: held-out response loss",
                      "heldout", _nll, "held-out response NLL per token (final weights)", where=_final_single,
                      higher_is_better=False, arms=arms),
            ItemClaim(f"{baseline}_verifiable", f"(reviewers) Mosaic-IT beats {what}: held-out verifiable tasks",
                      "verifiable", lambda r: float(r["correct"]), "exact-match accuracy", arms=arms))


ITEM_CLAIMS: tuple[ItemClaim, ...] = (
    ItemClaim("heldout_nll", "better quality, judge-free: lower held-out response loss", "heldout", _nll,
              "held-out response NLL per token (final weights, single-instruction format)",
              where=_final_single, higher_is_better=False),
    ItemClaim("convergence", "faster convergence (Figure 4, judge-free)", "heldout", _nll,
              "mean held-out response NLL per token over the first {T} real training tokens (area under the "
              "curve of `figures/loss_curves.png`, linear between probe points)", where=_single,
              higher_is_better=False, curve=True, replaces="faster_convergence"),
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
    *_baseline_claims(TEMPLATE_RANDOM, "template randomisation (meta-instructions without composition)"),
    *_baseline_claims(COMPUTE_MATCHED, "the compute-matched original (as many real tokens)"),
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


def _rows(items: Mapping[tuple[str, int], dict], variant: str, claim: ItemClaim) -> dict[int, list[dict]]:
    out = {}
    for (v, seed), sources in items.items():
        rows = [r for r in sources.get(claim.source, []) if claim.where(r)]
        if v == variant and rows:
            out[seed] = rows
    return out


def scores(items: Mapping[tuple[str, int], dict], variant: str, claim: ItemClaim) -> dict[int, dict[str, float]]:
    """seed -> {item id: score} of ``variant``'s runs that have the claim's source."""
    return {seed: {str(r.get("item", r["id"])): claim.score(r) for r in rows}
            for seed, rows in _rows(items, variant, claim).items()}


def over_range(points: list[tuple[float, float]], T: float) -> float:
    """Mean of the piecewise-linear curve through ``points`` (x, y) over [0, T] (trapezoids; the curve
    must start at x = 0 and reach T)."""
    pts = sorted(points)
    if not pts or pts[0][0] != 0 or pts[-1][0] < T or T <= 0:
        raise ValueError(f"a curve over [0, {T}] needs points from 0 to at least {T}, got x = {[x for x, _ in pts]}")
    area = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 >= T:
            break
        if x1 > T:  # cut the last segment at T
            y1, x1 = y0 + (y1 - y0) * (T - x0) / (x1 - x0), T
        area += (x1 - x0) * (y0 + y1) / 2
    return area / T


def shared_range(per_arm: list[dict[int, list[dict]]]) -> float:
    """The real training tokens every run of both arms reached: the smallest last probe point."""
    return min(max(r["real_tokens_seen"] for r in rows) for arm in per_arm for rows in arm.values())


def curve_scores(rows_by_seed: dict[int, list[dict]], T: float) -> dict[int, dict[str, float]]:
    out = {}
    for seed, rows in rows_by_seed.items():
        curves: dict[str, list] = {}
        for r in rows:
            curves.setdefault(str(r["item"]), []).append((float(r["real_tokens_seen"]), _nll(r)))
        out[seed] = {item: over_range(pts, T) for item, pts in curves.items()}
    return out


def _curve_ok(rows_by_seed: dict[int, list[dict]]) -> bool:
    """A curve needs the start and at least one more point per run."""
    return all(len({r["milestone"] for r in rows}) >= 2 and min(r["real_tokens_seen"] for r in rows) == 0
               for rows in rows_by_seed.values())


def arm_scores(items, claim: ItemClaim) -> tuple[dict, dict, dict]:
    """(scores of arms[0], scores of arms[1], format fields of the measure)."""
    if not claim.curve:
        return scores(items, claim.arms[0], claim), scores(items, claim.arms[1], claim), {}
    per_arm = [_rows(items, v, claim) for v in claim.arms]
    if not all(per_arm) or not all(_curve_ok(arm) for arm in per_arm):
        return {}, {}, {}
    T = shared_range(per_arm)
    return curve_scores(per_arm[0], T), curve_scores(per_arm[1], T), {"T": f"{T:,.0f}"}


def _binary(*arms) -> bool:
    return all(v in (0.0, 1.0) for arm in arms for seed in arm.values() for v in seed.values())


def item_findings(items: Mapping[tuple[str, int], dict], training: Mapping, claims=ITEM_CLAIMS) -> list[ItemFinding]:
    """One finding per claim with items in both arms; Holm across them."""
    tested = []
    for c in claims:
        a, b, fields = arm_scores(items, c)
        if set(a) & set(b):
            tested.append((c, paired_bootstrap(a, b), sorted(set(a) & set(b)), a, b, fields))
    adjusted = holm({c.id: t[0].p for c, *t in tested})
    out = []
    for c, iv, seeds, a, b, fields in tested:
        p, mde = adjusted[c.id], min_detectable_effect(iv.se)
        if _binary(a, b):  # no discordant item gives se = 0: at least one item must flip to be detected
            mde = max(mde, min_detectable_effect(1 / iv.n_items))
        outcome = verdict(iv, p, ALPHA, c.higher_is_better)
        why = ("the 95% interval includes 0" if iv.lo <= 0 <= iv.hi
               else f"Holm-adjusted p = {p:.3g} is not below {ALPHA}")
        d = c.digits
        first, second = (LABELS.get(v, v) for v in c.arms)
        evidence = (f"{c.measure.format(**fields)}, {first} minus {second}: {iv.estimate:+.{d}f} [{iv.lo:+.{d}f}, {iv.hi:+.{d}f}] "
                    f"({iv.n_seeds} seeds x {iv.n_items} items, {iv.method}; minimum detectable effect "
                    f"{mde:.{d}f}){c.note}")
        ids = sorted(training[(v, s)].run_id for s in seeds for v in c.arms)
        numbers = {"estimate": iv.estimate, "lo": iv.lo, "hi": iv.hi, "se": iv.se, "p": iv.p, "p_holm": p,
                   "mde": mde, "n_seeds": iv.n_seeds, "n_items": iv.n_items, "verdict": outcome, "run_ids": ids,
                   "arms": list(c.arms), **({"real_tokens": float(fields["T"].replace(",", ""))} if fields else {})}
        out.append(ItemFinding(c, evidence, WORDING[outcome].format(p=p, why=why, first=first, second=second), ids, numbers))
    return out
