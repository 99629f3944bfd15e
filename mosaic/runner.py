"""One run's training side, from a resolved config: check -> keys -> data and training stages -> MLflow.

Each stage is keyed by a hash of its inputs and committed atomically (mosaic/stages.py). The caller
(an entry point: ``experiments/run.py``, ``experiments/reproduce.py``) runs the evaluation stage next
(``evaluation.run.evaluate``) and then :func:`finish`, which marks the MLflow run complete and writes
the run's own directory, ``<runs_dir>/<study>/<run_name>/``: an index, written last, of ``run.json``,
``config.json`` and links to the stage outputs it used. ``evaluation.pipeline.run`` does all three.
Every configuration value is checked (mosaic/settings.py) before any data is read or anything is written.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .data.io import write_json
from .secrets import redact
from .settings import ConfigError, check
from .stages import TAG_RUN_KEY, link, stage_keys
from .tracking import client_for, find_run, log_training_run, mark_complete
from .train_stage import train_stage


def runs_root(cfg: dict, repo: Path) -> Path:
    return (repo / cfg["runs_dir"]).resolve()


def train_run(cfg: dict, repo: Path, tracking: bool = True, overrides: list[str] | None = None) -> dict:
    """Train (or reuse the finished training stage of) one run; returns its record.

    The record names the checkpoint, the MLflow run (``mlflow_run_id``; a new one per run key, reused
    when this run key was logged before) and whether that run is already complete (``complete``: its
    evaluations were logged too). ``FORCE=1`` or ``force=True`` redoes the stages. A configuration error
    is raised before anything is written; the directories it would have created are removed."""
    check(cfg)
    force = bool(cfg.get("force")) or os.environ.get("FORCE") == "1"
    root = runs_root(cfg, repo)
    existed = root.exists()
    try:
        keys = stage_keys(cfg)
        record = train_stage(cfg, root, keys, force)
    except ConfigError:
        if not existed:
            prune_empty(root)
        raise
    run_id, complete = None, False
    if tracking:
        prior = None if record["trained_now"] else find_run(client_for(cfg, repo), cfg["study"],
                                                            **{TAG_RUN_KEY: keys.run})
        complete = prior is not None and prior.data.tags.get("run_complete") == "true"
        run_id = prior.info.run_id if prior else log_training_run(cfg, record, repo, keys.tags(), overrides)
    record.update(mlflow_run_id=run_id, complete=complete, eval_dir=None, keys=keys.tags())
    return record


def finish(cfg: dict, repo: Path, record: dict) -> Path:
    """After the evaluations: the MLflow run marked complete, the run's index written."""
    if record["mlflow_run_id"] and not record["complete"]:
        mark_complete(cfg, repo, record["mlflow_run_id"])
    return write_index(runs_root(cfg, repo), cfg, record)


def prune_empty(root: Path) -> None:
    """Remove the directories a failed run created under ``root`` and left empty (and ``root`` if empty)."""
    if not root.is_dir():
        return
    for dirpath, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def write_index(root: Path, cfg: dict, record: dict) -> Path:
    """``<runs_dir>/<study>/<run_name>/``: the run's record and config, and links to its stage outputs.

    Written last, so a failed run of the same name never changes it. A directory of the earlier layout
    (checkpoint and data inside the run directory) is moved to ``previous-layout/``, not deleted."""
    index = root / cfg["study"] / cfg["run_name"]
    index.mkdir(parents=True, exist_ok=True)
    for p in index.glob(".*.tmp"):  # an atomic write a killed run left behind
        p.unlink(missing_ok=True)
    legacy = [p for p in index.iterdir() if not p.is_symlink() and not p.name.startswith(".")
              and p.name not in ("run.json", "config.json", "previous-layout")]
    if legacy:
        old = index / "previous-layout"
        old.mkdir(exist_ok=True)
        for p in legacy:
            shutil.move(str(p), old / p.name)
        print(f"[run] {index}: files of the earlier run layout moved to {old}", flush=True)
    targets = {"checkpoint": record["checkpoint"], "train": record["train_dir"], "data": record["data_dir"],
               "eval": record.get("eval_dir")}
    for name, target in targets.items():
        if target:
            link(Path(target), index / name)
        elif (index / name).is_symlink():
            (index / name).unlink()
    write_json(index / "config.json", redact(cfg))  # secrets belong in the environment, not in run records
    write_json(index / "run.json", redact(record))
    return index
