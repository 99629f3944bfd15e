"""The runs of a study in the MLflow store, read-only. The one module of the report that talks to
MLflow (imported lazily, when a store is opened).

Training runs: the latest run tagged ``run_complete`` per (variant, seed), sweep jobs excluded; the
``cost`` and ``counts`` runs of ``make reproduce`` (the latest of each); Hydra sweeps: parent runs
tagged ``sweep``, and their completed children.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from mosaic.tracking import tracking_uri as resolve

REPO_ROOT = Path(__file__).resolve().parents[2]
# Metric prefixes the runner logs for every training run (mosaic/runner.py); any other prefix
# "<adapter>/..." is an evaluation adapter's.
TRAINING_PREFIXES = ("train", "cost")
PARENT_TAG = "mlflow.parentRunId"


@dataclass(frozen=True)
class RunRecord:
    """What the report reads of an MLflow run."""

    run_id: str
    run_name: str | None
    tags: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    @classmethod
    def from_mlflow(cls, run) -> "RunRecord":
        return cls(run.info.run_id, run.info.run_name, dict(run.data.tags), dict(run.data.params),
                   dict(run.data.metrics))

    @property
    def seed(self) -> int:
        return int(self.params.get("seed", 0))


@dataclass
class StudyRuns:
    training: dict[tuple[str, int], RunRecord]
    cost: RunRecord | None = None
    counts: RunRecord | None = None
    sweeps: list[RunRecord] = field(default_factory=list)
    references: dict[tuple[str, int], RunRecord] = field(default_factory=dict)  # `mosaic eval` runs (kind=eval)


def adapters_of(runs: Iterable[RunRecord]) -> set[str]:
    """Evaluation adapters with a metric (``<adapter>/...``) in any of ``runs``."""
    return {k.split("/", 1)[0] for r in runs for k in r.metrics if "/" in k} - set(TRAINING_PREFIXES)


def judge_name(training: dict) -> str:
    tag = next((r.tags.get("judge") for r in training.values() if r.tags.get("judge")), "{}")
    try:
        j = json.loads(tag)
    except json.JSONDecodeError:
        return "unknown"
    if j.get("kind") == "local":
        return f"local {'SmolLM2-135M-Instruct' if j.get('model', 'smollm2') == 'smollm2' else j.get('model')}"
    return f"{j.get('kind')} {j.get('model')}"


def model_name(training: dict) -> str:
    return next((r.tags.get("model_id") for r in training.values()), "unknown")


class Store:
    def __init__(self, client, experiment_id: str):
        self.client, self.experiment_id = client, experiment_id

    @classmethod
    def open(cls, study: str, tracking_uri: str | None = None, repo_root: Path | None = None) -> "Store":
        import mlflow


        client = mlflow.MlflowClient(resolve(tracking_uri, Path(repo_root or REPO_ROOT)))
        exp = client.get_experiment_by_name(study)
        if exp is None:
            raise SystemExit(f"report: no MLflow experiment {study!r} in {client.tracking_uri}; "
                             "run `make reproduce` first")
        return cls(client, exp.experiment_id)

    @property
    def uri(self) -> str:
        return self.client.tracking_uri

    def search(self, filter_string: str) -> list[RunRecord]:
        """Every run matching ``filter_string``, oldest first (all pages)."""
        out, token = [], None
        while True:
            page = self.client.search_runs([self.experiment_id], filter_string,
                                           order_by=["attributes.start_time ASC"], page_token=token)
            out += [RunRecord.from_mlflow(r) for r in page]
            token = page.token
            if not token:
                return out

    def load(self) -> StudyRuns:
        """Latest complete training run per (variant, seed), plus the cost, counts and sweep runs."""
        data = StudyRuns(training={})
        for r in self.search("tags.run_complete = 'true'"):
            kind = r.tags.get("kind")
            if kind == "cost":
                data.cost = r
            elif kind == "counts":
                data.counts = r
            elif kind == "eval":  # a model evaluated as is: a reference row, never an arm of a claim
                data.references[(r.tags.get("variant", r.run_id), r.seed)] = r
            elif "variant" in r.tags and PARENT_TAG not in r.tags:
                data.training[(r.tags["variant"], r.seed)] = r
        data.sweeps = self.search("tags.sweep = 'true'")
        return data

    def children(self, parent: RunRecord) -> list[RunRecord]:
        """The completed jobs of a sweep, oldest first."""
        return self.search(f"tags.{PARENT_TAG} = '{parent.run_id}' and tags.run_complete = 'true'")

    def artifact_text(self, run_id: str, path: str) -> str:
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        import mlflow

        with tempfile.TemporaryDirectory(prefix="mosaic-report-") as tmp:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=tmp,
                                                        tracking_uri=self.uri)
            return Path(local).read_text(encoding="utf-8")

    def artifact_json(self, run_id: str, path: str):
        return json.loads(self.artifact_text(run_id, path))

    def optional_artifact_text(self, run_id: str, path: str) -> str | None:
        """The artifact's text, or None where the run has none (or it cannot be read)."""
        try:
            return self.artifact_text(run_id, path)
        except Exception:  # no such artifact in this run
            return None

    def optional_artifact_json(self, run_id: str, path: str):
        """The artifact, or None where the run has none (or it cannot be read)."""
        try:
            return self.artifact_json(run_id, path)
        except Exception:  # no such artifact in this run
            return None

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        return sorted(((m.step, m.value) for m in self.client.get_metric_history(run_id, key)), key=lambda x: x[0])
