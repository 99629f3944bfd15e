"""Evaluate a trained run: the adapters selected by ``eval=[...]``, in order, on the run's checkpoint; every
metric, the raw outputs and judgments, the judge identity and the template go to the run's MLflow record.

Partial results are never presented as complete: an adapter that fails is recorded as failed (tag
``eval_status/<name>=failed`` with the error) and the evaluation raises after the other adapters ran;
what the failed adapter already paid for (generations, judgments) stays in the on-disk caches.
"""
from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

from mosaic.data.io import write_json

from .adapters import get_adapter
from .context import EvalContext

ORDER = ("lm_eval", "alpaca_eval", "mt_bench", "mosaic_bench", "pairwise")  # generation-sharing order


class EvaluationFailed(RuntimeError):
    """One or more adapters failed; the others' results were recorded."""


def context_for(cfg: dict, run_dir: Path, model_id: str | None = None) -> EvalContext:
    from mosaic.runner import bf16_supported

    gen = dict(cfg.get("generation") or {})
    return EvalContext(checkpoint=run_dir / "checkpoint", template=cfg["model"]["template"],
                       out_dir=run_dir / "eval", model_id=model_id or cfg["run_name"], seed=cfg["seed"],
                       bf16=bf16_supported() and cfg["train"].get("precision") != "fp32",
                       judge_cfg=dict(cfg.get("judge") or {"kind": "local"}), generation=gen)


def find_baseline(cfg: dict, repo: Path, variant: str) -> Path | None:
    """The run directory of the finished ``variant`` run of the same study and seed, from MLflow."""
    import mlflow

    from mosaic.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri(cfg.get("tracking", {}).get("uri"), repo))
    exp = client.get_experiment_by_name(cfg["study"])
    if exp is None:
        return None
    runs = client.search_runs([exp.experiment_id], filter_string=(
        f"tags.variant = '{variant}' and params.seed = '{cfg['seed']}' and tags.train_status = 'finished'"),
        order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        return None
    path = Path(runs[0].data.tags.get("run_dir", ""))
    return path if (path / "checkpoint").exists() else None


def evaluate(cfg: dict, run_dir: Path, repo: Path, run_id: str | None = None) -> dict:
    """Run the configured adapters; returns {name: {metrics, info}} and logs to MLflow run ``run_id``."""
    selected = cfg.get("eval") or {}
    unknown = [n for n in selected if n not in ORDER]
    if unknown:
        raise ValueError(f"unknown eval {unknown}; known: {list(ORDER)}")
    ctx = context_for(cfg, run_dir)
    results, failed = {}, {}
    for name in [n for n in ORDER if n in selected]:
        acfg = dict(selected[name] or {})
        if name == "pairwise":
            variant = acfg.get("baseline_variant", "none")
            if cfg.get("variant") == variant:
                results[name] = {"metrics": {}, "info": {"skipped": f"this run is the baseline ({variant})"}}
                continue
            base_dir = find_baseline(cfg, repo, variant)
            acfg["baseline_context"] = context_for(cfg, base_dir, model_id=f"{variant}-s{cfg['seed']}") \
                if base_dir else None
        started = time.perf_counter()
        try:
            res = get_adapter(name)(ctx, acfg)
        except Exception as e:  # recorded, then raised after the other adapters ran
            failed[name] = f"{type(e).__name__}: {e}"
            (run_dir / "eval").mkdir(parents=True, exist_ok=True)
            (run_dir / "eval" / f"{name}.error.txt").write_text(traceback.format_exc())
            continue
        res.info["seconds"] = round(time.perf_counter() - started, 1)  # wall time, generation and judging
        print(f"[eval] {name}: done in {res.info['seconds']:.0f}s", flush=True)
        results[name] = {"metrics": res.metrics, "info": res.info, "tables": res.tables,
                         "artifacts": [str(p) for p in res.artifacts]}
        write_json(run_dir / "eval" / f"{name}.result.json", results[name])
        if run_id:
            log_adapter(run_id, cfg, repo, name, res)
    if run_id:
        _log_status(run_id, cfg, repo, results, failed)
    if failed:
        raise EvaluationFailed("; ".join(f"{k}: {v}" for k, v in failed.items()))
    return results


def _client(cfg: dict, repo: Path):
    import mlflow

    from mosaic.tracking import tracking_uri

    return mlflow.MlflowClient(tracking_uri(cfg.get("tracking", {}).get("uri"), repo))


def log_adapter(run_id: str, cfg: dict, repo: Path, name: str, res) -> None:
    from mlflow.entities import Metric

    from mosaic.tracking import redact

    client = _client(cfg, repo)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in res.metrics.items()])
    client.log_dict(run_id, redact({"info": res.info, "tables": res.tables}), f"eval/{name}/info.json")
    for path in res.artifacts:
        client.log_artifact(run_id, str(path), f"eval/{name}")


def _log_status(run_id: str, cfg: dict, repo: Path, results: dict, failed: dict) -> None:
    client = _client(cfg, repo)
    for name in results:
        client.set_tag(run_id, f"eval_status/{name}", "finished")
    for name, err in failed.items():
        client.set_tag(run_id, f"eval_status/{name}", "failed")
        client.set_tag(run_id, f"eval_error/{name}", err[:4000])
    judge = dict(cfg.get("judge") or {})
    client.set_tag(run_id, "judge", json.dumps({k: v for k, v in judge.items() if k != "api_key"}))
