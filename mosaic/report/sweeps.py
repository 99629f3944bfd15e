"""A table per Hydra sweep (an MLflow parent run tagged ``sweep`` and its completed jobs), and the
strategy scores of the latest sweep over ``augmentation`` (for the strategy-ranking claim)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .store import RunRecord, adapters_of
from .tables import Table, fmt

ALWAYS = ("train/loss", "cost/real_tokens", "cost/device_hours")
# per-adapter bookkeeping, not results
NOT_SHOWN = ("parse_failures", "n_judged", "standard_error", "avg_output_chars")
RANKED = "mosaic_bench/structure_acc"


@dataclass
class Sweep:
    parent: RunRecord
    children: list[RunRecord]
    table: Table


@dataclass
class StrategyScores:
    """``RANKED`` per ``augmentation.name`` of a sweep's jobs."""

    scores: dict[str, float] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    settings: str = ""  # the sweep's fixed overrides, as the store has them (REPORT.md cites them)


def swept_params(parent: RunRecord) -> tuple[list[str], list[str]]:
    """(the sweep's overrides, command line and sweeper's, and the parameters that take several values)."""
    overrides = json.loads(parent.tags.get("sweep_overrides", "[]"))
    overrides += [f"{k}={v}" for k, v in json.loads(parent.tags.get("sweep_params", "{}")).items()]
    swept = sorted({o.split("=")[0].lstrip("+~") for o in overrides
                    if "," in o and not o.split("=", 1)[-1].startswith("[")})  # a list value is not a sweep
    return overrides, swept


def result_keys(children: list[RunRecord]) -> list[str]:
    adapters = adapters_of(children)
    keys = sorted({k for c in children for k in c.metrics if k.split("/")[0] in adapters and k.count("/") == 1
                   and not k.endswith(NOT_SHOWN)})
    return list(ALWAYS) + keys


def sweep_tables(store, parents: list[RunRecord]) -> tuple[list[Sweep], StrategyScores]:
    sweeps, strategy = [], StrategyScores()
    for n, parent in enumerate(parents):
        children = store.children(parent)
        if not children:  # a sweep that finished no job (killed, or every job failed)
            continue
        overrides, swept = swept_params(parent)
        keys = result_keys(children)
        t = Table(f"sweep_{n}_{parent.run_name}", f"Sweep {parent.run_name}: {' '.join(overrides)}",
                  ["run"] + [f"param {s}" for s in swept] + keys, f"MLflow parent run {parent.run_id}.")
        for c in sorted(children, key=lambda c: c.run_name or ""):
            params = [c.params.get(s, c.params.get(s.split(".")[0] + ".name", "")) for s in swept]
            t.add(c.run_name, *params, *[fmt(c.metrics.get(k, float("nan")), digits=4) for k in keys],
                  runs=[c.run_id])
        sweeps.append(Sweep(parent, children, t))
        if swept == ["augmentation"]:
            ranked = [c for c in children if RANKED in c.metrics]
            fixed = " ".join(o for o in overrides if o.split("=")[0].lstrip("+~") not in swept) or "defaults"
            strategy = StrategyScores({c.params.get("augmentation.name", ""): c.metrics[RANKED] for c in ranked},
                                      [c.run_id for c in ranked], fixed)
    return sweeps, strategy
