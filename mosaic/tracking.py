"""MLflow records of a run: flattened config as params, metrics, tags that identify code, config and data.

The store defaults to ``sqlite:///<repo>/mlflow.db`` (an absolute URI: a relative one breaks as soon
as a job changes directory); ``MLFLOW_TRACKING_URI`` or ``tracking.uri`` points elsewhere. Values
whose key looks like a credential are redacted before they reach MLflow (mosaic/secrets.py); stage keys
and their tags are in mosaic/stages.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from .secrets import REDACTED, SECRET_KEY, redact, redact_overrides  # noqa: F401  (one place for the rule)
from .stages import TAG_LAYOUT


def flatten(obj, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(obj) if isinstance(obj, (list, dict)) else str(obj)
    return out


def config_hash(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


def git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def tracking_uri(configured: str | None, repo: Path) -> str:
    """``tracking.uri`` when set, else ``MLFLOW_TRACKING_URI``, else the repository's SQLite store.

    The configured value wins because ``mlflow.set_tracking_uri`` writes ``MLFLOW_TRACKING_URI`` into the
    process environment: a later run in the same process must not inherit an earlier run's store."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(repo / 'mlflow.db').resolve()}"


PARENT_RUN_ENV = "MOSAIC_PARENT_RUN_ID"


def experiment_id(uri: str, name: str) -> str:
    """The id of experiment ``name`` in the store at ``uri``, created if missing. Resolved per store:
    ``mlflow.set_experiment`` caches the active experiment across stores in one process."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name(name)
    return exp.experiment_id if exp else client.create_experiment(name)

# ------------------------------------------------------------------------------------------ lookups
# The one way to ask the store for "the run with these tags" (stage keys are tags: mosaic/stages.py).

def client_for(cfg: dict, repo: Path):
    """An MLflow client on the store a run's config names (``tracking.uri``), else the default one."""
    import mlflow

    return mlflow.MlflowClient(tracking_uri((cfg.get("tracking") or {}).get("uri"), repo))


def find_finished(client, study: str, **tags: str):
    """The newest run of experiment ``study`` that completed, with every given tag value; or None."""
    return find_run(client, study, run_complete="true", **tags)


def find_run(client, study: str, **tags: str):
    """The newest run with these tags, finished or not (an evaluation killed half-way resumes into it)."""
    exp = client.get_experiment_by_name(study)
    if exp is None:
        return None
    conds = " and ".join(f"tags.{k} = '{v}'" for k, v in tags.items())
    runs = client.search_runs([exp.experiment_id], conds, order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0] if runs else None


def legacy_runs(client, study: str) -> list:
    """Completed training runs written before stage keys existed: their inputs cannot be verified."""
    exp = client.get_experiment_by_name(study)
    if exp is None:
        return []
    runs = client.search_runs([exp.experiment_id], "tags.run_complete = 'true'")
    return [r for r in runs if TAG_LAYOUT not in r.data.tags and "variant" in r.data.tags]


# ------------------------------------------------------------------------------------------ logging

def log_training_run(cfg: dict, record: dict, repo: Path, tags: dict[str, str], overrides: list[str] | None) -> str:
    """A new MLflow run for one run key: params, tags, the training history and cost (also when the
    training stage was reused: the tag ``train_reused`` says so). ``overrides`` (the Hydra command
    line, credentials already removed) is kept as the tag ``hydra_overrides``."""
    import mlflow

    safe = redact(cfg)
    history = json.loads(Path(record["history_path"]).read_text())["history"]
    uri = tracking_uri((cfg.get("tracking") or {}).get("uri"), repo)
    mlflow.set_tracking_uri(uri)
    parent = os.environ.get(PARENT_RUN_ENV)  # set by the sweep callback: this run is one job of a sweep
    with mlflow.start_run(experiment_id=experiment_id(uri, cfg["study"]), run_name=cfg["run_name"], parent_run_id=parent,
                          nested=mlflow.active_run() is not None) as active:
        mlflow.log_params(flatten(safe))
        mlflow.set_tags({"git_commit": git_commit(repo), "config_hash": config_hash(safe),
                         "data_hash": record["data_hash"], "model_id": cfg["model"]["name"],
                         "template_id": cfg["model"]["template"], "loss_normalisation": record["loss_normalisation"],
                         "variant": cfg.get("variant", cfg["augmentation"]["name"]), "run_dir": record["run_dir"],
                         "checkpoint": record["checkpoint"], "checkpoint_hash": record["checkpoint_hash"],
                         "training_hash": record["training_hash"], "train_status": "finished", "seed": str(cfg["seed"]),
                         "train_reused": str(not record["trained_now"]).lower(),
                         "hydra_overrides": json.dumps(redact_overrides(list(overrides or []))),
                         "precision": record["precision"],
                         **{k: str(v) for k, v in (record.get("placement") or {}).items()}, **tags})
        for h in history:
            mlflow.log_metrics({"train/loss": h["loss"], "train/lr": h["lr"], "train/grad_norm": h["grad_norm"]},
                               step=h["step"])
        if record.get("heldout_path"):
            log_heldout(json.loads(Path(record["heldout_path"]).read_text()))
        cost = record["cost"]
        mlflow.log_metrics({f"cost/{k}": float(v) for k, v in cost.items() if isinstance(v, (int, float))})
        mlflow.set_tags({f"cost/{k}": v for k, v in cost.items() if isinstance(v, str)})  # e.g. peak_source
        mlflow.log_dict(safe, "config.json")
        mlflow.log_dict(record["data"], "data_stats.json")
        return active.info.run_id


def mark_complete(cfg: dict, repo: Path, run_id: str) -> None:
    """Training and every selected evaluation finished: ``make reproduce`` may skip this run next time."""
    client = client_for(cfg, repo)
    client.set_tag(run_id, "config_hash", config_hash(redact(cfg)))  # the evaluations may differ from the training's
    client.set_tag(run_id, "run_complete", "true")


def log_heldout(probe: dict) -> None:
    """The held-out probe (mosaic/train/heldout.py) into the active run: ``heldout/<set>/nll`` with the
    real tokens seen as the step (the convergence curve), ``heldout/<set>/final_nll``, and every point's
    per-item values as ``heldout.json``."""
    import mlflow

    for p in probe["points"]:
        mlflow.log_metrics({f"heldout/{name}/nll": s["nll_per_token"] for name, s in p["sets"].items()},
                           step=p["real_tokens_seen"])
        if p["final"]:
            mlflow.log_metrics({f"heldout/{name}/final_nll": s["nll_per_token"] for name, s in p["sets"].items()})
    mlflow.log_dict(probe, "heldout.json")


def log_result_run(study: str, uri: str, run_name: str, tags: dict[str, str], metrics: dict[str, float],
                   artifacts: dict[str, dict]) -> str:
    """A finished run that holds one computed result (the cost comparison, the count distributions)."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=experiment_id(uri, study), run_name=run_name,
                          nested=mlflow.active_run() is not None) as active:
        mlflow.set_tags(tags)
        if metrics:
            mlflow.log_metrics(metrics)
        for name, obj in artifacts.items():
            mlflow.log_dict(obj, name)
        mlflow.set_tag("run_complete", "true")
        return active.info.run_id


try:
    from hydra.experimental.callback import Callback as _HydraCallback
except ImportError:  # hydra is a dependency; this keeps the module importable without it
    _HydraCallback = object


class SweepParentRun(_HydraCallback):
    """One MLflow parent run per Hydra multirun sweep; each job's run becomes its child.

    The parent id travels in ``MOSAIC_PARENT_RUN_ID``, which every launcher passes on (same process for
    the basic launcher, inherited by joblib/submitit-local worker processes, exported by sbatch), and is
    also written to ``<sweep dir>/parent_run_id`` for humans and scripts. Registered in conf/config.yaml.
    """

    def on_multirun_start(self, config, **kwargs) -> None:
        import mlflow
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import OmegaConf

        HydraConfig.instance().set_config(config)  # lets ${hydra:...} and ${now:...} resolve here
        repo = Path(__file__).resolve().parents[1]
        client = mlflow.MlflowClient(tracking_uri(OmegaConf.select(config, "tracking.uri"), repo))
        name = str(config.study)
        exp = client.get_experiment_by_name(name)
        exp_id = exp.experiment_id if exp else client.create_experiment(name)
        # unresolved: `variant=sweep_${augmentation.name}` must not be resolved against the parent's config
        overrides = OmegaConf.to_container(OmegaConf.select(config, "hydra.overrides.task"), resolve=False) or []
        overrides = redact_overrides([str(o) for o in overrides])  # experiments/run.py already removed keys
        params = OmegaConf.select(config, "hydra.sweeper.params")  # sweeps shipped in conf/ablation/
        params = {str(k): str(v) for k, v in OmegaConf.to_container(params, resolve=False).items()} if params else {}
        sweep_dir = Path(str(config.hydra.sweep.dir))
        run = client.create_run(exp_id, run_name=f"sweep-{sweep_dir.name}",
                                tags={"sweep": "true", "sweep_dir": str(sweep_dir),
                                      "sweep_overrides": json.dumps(overrides), "sweep_params": json.dumps(params),
                                      "git_commit": git_commit(repo)})
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / "parent_run_id").write_text(run.info.run_id + "\n")
        os.environ[PARENT_RUN_ENV] = run.info.run_id
        self._client, self._run_id = client, run.info.run_id

    def on_multirun_end(self, config, **kwargs) -> None:
        run_id = os.environ.pop(PARENT_RUN_ENV, None)
        if run_id and getattr(self, "_client", None) is not None:
            self._client.set_terminated(run_id)
