"""One run end to end, for the entry points: train (``mosaic.runner``), evaluate (``evaluation.run``),
then index and mark complete (``mosaic.runner.finish``). It lives here because ``mosaic`` never
imports ``evaluation``; this is the one place the two are called one after the other."""
from __future__ import annotations

import time
from pathlib import Path

from mosaic.runner import finish, runs_root, train_run

from .run import evaluate


def run(cfg: dict, repo: Path, tracking: bool = True, overrides: list[str] | None = None) -> dict:
    """Execute one run through its stages; returns its record (also ``<runs_dir>/<study>/<run_name>/run.json``).

    Data, training and evaluation are each reused when a finished stage has the same key; ``FORCE=1``
    or ``force=True`` redoes data and training. A killed run resumes (training from its last save,
    evaluation from its caches). Every configuration error is raised before anything is written."""
    record = train_run(cfg, repo, tracking, overrides)
    if cfg.get("eval"):
        t = time.perf_counter()
        run_id = None if record["complete"] else record["mlflow_run_id"]
        results = evaluate(cfg, Path(record["checkpoint"]), runs_root(cfg, repo), repo, run_id)
        record["eval"] = {k: v["metrics"] for k, v in results.items() if k != "_stage"}
        record["eval_dir"] = results.get("_stage")
        record["phases"]["eval_s"] = time.perf_counter() - t
    finish(cfg, repo, record)
    return record
