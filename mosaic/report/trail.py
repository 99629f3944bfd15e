"""``runs.json``: the trail from a number to the code that made it, readable without the MLflow store.

One entry per run the report used, keyed by MLflow run id: what it is (kind, variant, seed, run name,
parent sweep), its stage keys, its resolved config (the run's ``config.json`` artifact, redacted when it
was logged; for the cost run the ``settings`` of its ``cost.json``), its Hydra overrides, git commit,
data and checkpoint hashes. Then, for each table in ``tables/``, the run ids behind each row; for each
claim of REPORT.md and each figure, the run ids it used. Keys are sorted and nothing in it changes
between rebuilds from the same store.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from mosaic.data.io import write_json
from mosaic.stages import TAG_DATA_KEY, TAG_EVAL_KEY, TAG_LAYOUT, TAG_RUN_KEY, TAG_TRAIN_KEY

from .store import PARENT_TAG, RunRecord

SCHEMA = 1
TRAINING, SWEEP_JOB, SWEEP, COST, COUNTS, REFERENCE = "training", "sweep_job", "sweep", "cost", "counts", "reference"
TRAINING_KEYS = (TAG_LAYOUT, TAG_DATA_KEY, TAG_TRAIN_KEY, TAG_RUN_KEY, TAG_EVAL_KEY)
KIND_KEYS = {COST: ("cost_key",), COUNTS: ("counts_key",), SWEEP: (), REFERENCE: ("eval_run_key",)}  # tags of experiments/reproduce.py
HYDRA_OVERRIDES = "hydra_overrides"  # a JSON list of strings (absent from runs logged before it existed)


def _json_tag(tags: dict, name: str):
    try:
        return json.loads(tags[name]) if name in tags else None
    except json.JSONDecodeError:
        return tags[name]


def run_entry(run: RunRecord, kind: str, config: dict | None, config_source: str | None) -> dict:
    tags = run.tags
    entry = {"kind": kind, "run_name": run.run_name, "variant": tags.get("variant"),
             "seed": run.seed if "seed" in run.params else None, "parent_run_id": tags.get(PARENT_TAG),
             "stage_keys": {k: tags.get(k) for k in KIND_KEYS.get(kind, TRAINING_KEYS)},
             "config": config, "config_source": config_source if config is not None else None,
             "hydra_overrides": _json_tag(tags, HYDRA_OVERRIDES), "git_commit": tags.get("git_commit"),
             "data_hash": tags.get("data_hash"), "checkpoint_hash": tags.get("checkpoint_hash")}
    if kind == SWEEP:
        entry["sweep"] = {"overrides": _json_tag(tags, "sweep_overrides"), "params": _json_tag(tags, "sweep_params")}
    return entry


def collect_runs(store, data, sweeps, cost: dict | None) -> dict[str, dict]:
    """An entry for every run the report used: training, cost, counts, sweep parents and their jobs."""
    runs: dict[str, dict] = {}

    def add(run: RunRecord, kind: str) -> None:
        config = store.optional_artifact_json(run.run_id, "config.json")
        runs[run.run_id] = run_entry(run, kind, config, "config.json")

    for r in data.training.values():
        add(r, TRAINING)
    for r in data.references.values():
        add(r, REFERENCE)
    for s in sweeps:
        runs[s.parent.run_id] = run_entry(s.parent, SWEEP, None, None)
        for c in s.children:
            add(c, SWEEP_JOB)
    if data.cost is not None:
        runs[data.cost.run_id] = run_entry(data.cost, COST, (cost or {}).get("settings"), "cost.json settings")
    if data.counts is not None:
        runs[data.counts.run_id] = run_entry(data.counts, COUNTS, None, None)
    return runs


def build_trail(study: str, runs: dict[str, dict], tables, claims, figures: dict[str, list[str]]) -> dict:
    return {"schema": SCHEMA, "study": study, "runs": runs,
            "tables": {t.name: t.runs_by_row() for t in tables},
            "claims": {f.claim.id: sorted(set(f.run_ids)) for f in claims},
            "figures": {name: ids for name, ids in figures.items() if ids}}


def mentioned_run_ids(trail: dict) -> set[str]:
    """Every run id the tables, claims and figures point to."""
    ids = {i for rows in trail["tables"].values() for row in rows.values() for i in row}
    ids |= {i for group in ("claims", "figures") for row in trail[group].values() for i in row}
    return ids


def finite(obj):
    """``obj`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def write_trail(path: Path, trail: dict) -> None:
    missing = mentioned_run_ids(trail) - set(trail["runs"])
    if missing:
        raise RuntimeError(f"runs.json: rows point to runs without an entry: {sorted(missing)}")
    write_json(path, finite(trail))
