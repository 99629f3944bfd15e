"""The cost claim ("80% lower training cost"), told once: what the study's own training runs measured,
and what the cost run's exact plans give as arithmetic. REPORT.md, ``tables/cost.*``,
``figures/cost_ratio.png``, ``summary.json`` and the README's headline read these records only.

* measured: Mosaic-IT / original device-hours (and wall time) of the headline training runs, paired
  by seed, a ratio of means with a seed-bootstrap interval (``paired.ratio_bootstrap``), under the
  batching regime those runs used. The verdict's threshold is the claim itself: a ratio at most 0.2,
  with a stated tolerance of 0.02 (``paired.ratio_verdict``). Fewer than 2 paired seeds: not tested.
* plan: for each of the three batching regimes, the exact counts of the cost run's plans (sequences,
  processed tokens: arithmetic over the real samples) and device-hours estimated from rates timed on a
  few steps; arithmetic, never a verdict: the static-padding row is what FastChat-style padding would
  cost, not a run anyone timed end to end.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .paired import CONTRADICTED, INCONCLUSIVE, SUPPORTED, Interval, ratio_bootstrap, ratio_verdict
from .paper import MOSAIC, ORIGINAL

CLAIMED_MAX = 0.2   # "80% lower": Mosaic-IT at most 0.2x the original's cost
TOLERANCE = 0.02    # measurement slack stated beside the verdict
DEVICE_HOURS, WALL = "cost/device_hours", "cost/train_seconds"
NOT_TESTED = "not_tested"
WORDING = {SUPPORTED: "supported under {regime} batching: the whole interval is at most {bound:.2f}x",
           CONTRADICTED: "contradicted under {regime} batching: the whole interval is above {bound:.2f}x",
           INCONCLUSIVE: "inconclusive under {regime} batching: the interval straddles {bound:.2f}x",
           NOT_TESTED: "not tested: {why}"}


@dataclass(frozen=True)
class Measured:
    """Mosaic-IT / original per-run training cost of the study, paired by seed."""
    regime: str
    seeds: list[int]
    device_hours: Interval | None   # None below 2 paired seeds
    wall: Interval | None
    per_seed: dict                  # seed -> {arm: {device_hours, train_seconds}}
    run_ids: list[str]


def _per_seed(training: Mapping, key: str) -> tuple[dict, dict]:
    arm = {v: {s: r.metrics[key] for (x, s), r in training.items() if x == v and key in r.metrics}
           for v in (MOSAIC, ORIGINAL)}
    return arm[MOSAIC], arm[ORIGINAL]


def measured(training: Mapping) -> Measured | None:
    """None when no seed has both headline arms with a training cost."""
    a, b = _per_seed(training, DEVICE_HOURS)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    regimes = sorted({training[(v, s)].params.get("train.regime", "?") for s in seeds for v in (MOSAIC, ORIGINAL)})
    wa, wb = _per_seed(training, WALL)
    enough = len(seeds) >= 2
    return Measured(
        regime="/".join(regimes), seeds=seeds,
        device_hours=ratio_bootstrap(a, b) if enough else None,
        wall=ratio_bootstrap(wa, wb) if enough and set(seeds) <= set(wa) & set(wb) else None,
        per_seed={s: {v: {"device_hours": training[(v, s)].metrics[DEVICE_HOURS],
                          "train_seconds": training[(v, s)].metrics.get(WALL)} for v in (MOSAIC, ORIGINAL)}
                  for s in seeds},
        run_ids=sorted(training[(v, s)].run_id for s in seeds for v in (MOSAIC, ORIGINAL)))


def plan(cost: dict | None) -> dict[str, dict[str, float]]:
    """regime -> Mosaic-IT / original ratios of the cost run's plans ({} without a cost run)."""
    if not cost:
        return {}
    keep = ("sequences", "processed_tokens", "real_tokens", "device_hours")
    return {r: {k: float(q[k]) for k in keep if k in q} for r, q in sorted(cost["mosaic_over_original"].items())}


def outcome(m: Measured | None) -> str:
    if m is None or m.device_hours is None:
        return NOT_TESTED
    return ratio_verdict(m.device_hours, CLAIMED_MAX, TOLERANCE)


def verdict_text(m: Measured | None) -> str:
    o = outcome(m)
    why = ("no training run of both headline arms has a cost record" if m is None
           else f"{len(m.seeds)} paired seed(s); a ratio interval needs at least 2")
    return WORDING[o].format(regime=m.regime if m else "?", bound=CLAIMED_MAX + TOLERANCE, why=why)


def _iv(iv: Interval) -> str:
    return f"{iv.estimate:.2f}x [{iv.lo:.2f}, {iv.hi:.2f}]"


def evidence_text(m: Measured | None, plans: Mapping[str, Mapping[str, float]]) -> str:
    parts = []
    if m is not None and m.device_hours is not None:
        wall = f"; wall time {_iv(m.wall)}" if m.wall else ""
        parts.append(f"measured on this study's training runs ({m.regime} batching, {len(m.seeds)} seeds): "
                     f"Mosaic-IT / original device-hours {_iv(m.device_hours)}{wall} ({m.device_hours.method})")
    elif m is not None:
        parts.append(f"measured on {len(m.seeds)} paired seed(s) only ({m.regime} batching)")
    if plans:
        parts.append("plan arithmetic, not a measurement (exact processed tokens of each regime's plan; device-hours "
                     "from rates timed on a few steps): " + ", ".join(
                         f"{r} {q['processed_tokens']:.2f}x tokens"
                         + (f" / {q['device_hours']:.2f}x device-hours" if "device_hours" in q else "")
                         for r, q in plans.items()))
    return "; ".join(parts) if parts else "no training cost recorded and no cost run in this study"


def numbers(m: Measured | None, plans: Mapping[str, Mapping[str, float]]) -> dict:
    """Every cost number the report cites, for summary.json."""
    def iv(x):
        return None if x is None else {"estimate": x.estimate, "lo": x.lo, "hi": x.hi, "p": x.p,
                                       "n_seeds": x.n_seeds, "method": x.method}
    out = {"claimed_max": CLAIMED_MAX, "tolerance": TOLERANCE, "verdict": outcome(m), "plan_arithmetic": dict(plans)}
    if m is not None:
        out["measured"] = {"regime": m.regime, "seeds": m.seeds, "device_hours_ratio": iv(m.device_hours),
                           "wall_time_ratio": iv(m.wall), "per_seed": {str(s): v for s, v in m.per_seed.items()},
                           "run_ids": m.run_ids}
    return out
