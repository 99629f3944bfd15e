"""Evaluate a trained run: the adapters selected by ``eval=[...]``, in order, on the run's checkpoint; every
metric, the raw outputs and judgments, the judge identity and the template go to the run's MLflow record.

Partial results are never presented as complete: an adapter that fails is recorded as failed (tag
``eval_status/<name>=failed`` with the error) and the evaluation raises after the other adapters ran;
what the failed adapter already paid for (generations, judgments) stays in the on-disk caches. An adapter
that fails part-way with :class:`AdapterFailed` (lm-eval: one task of several) has its finished part logged
too, under the failed status; the stage is not committed, so a rerun redoes only what failed.
What each adapter spent on the judge (requests, cache hits, tokens, estimated USD) is recorded as metrics
``judge_usage/<adapter>/...``, for a failed adapter too.
"""
from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

from mosaic.data.io import write_json
from mosaic.secrets import redact
from mosaic.stages import STAGE_LAYOUT, TAG_LAYOUT, Stage, checkpoint_hash, eval_key
from mosaic.tracking import client_for, find_run

from .adapters import get_adapter
from .context import EvalContext, placement
from .judges.usage import Usage, usage_metrics

ORDER = ("lm_eval", "verifiable", "alpaca_eval", "mt_bench", "mosaic_bench", "pairwise")  # generation-sharing order


class EvaluationFailed(RuntimeError):
    """One or more adapters failed; the others' results were recorded."""


def context_for(cfg: dict, checkpoint: Path | None, out_dir: Path, model_id: str | None = None,
                checkpoint_id: str | None = None) -> EvalContext:
    gen = dict(cfg.get("generation") or {})
    return EvalContext(checkpoint=checkpoint, checkpoint_id=checkpoint_id, template=cfg["model"]["template"],
                       out_dir=out_dir, model_id=model_id or cfg["run_name"], seed=cfg["seed"],
                       judge_cfg=dict(cfg["judge"]), generation=gen, **placement(gen, cfg["train"]))


def find_baseline(cfg: dict, repo: Path, variant: str) -> Path | None:
    """The checkpoint of the newest finished ``variant`` run of the same study and seed, from MLflow."""
    run = find_run(client_for(cfg, repo), cfg["study"], variant=variant, train_status="finished",
                   **{TAG_LAYOUT: STAGE_LAYOUT, "seed": str(cfg["seed"])})
    if run is None:
        return None
    path = Path(run.data.tags.get("checkpoint", ""))
    return path if (path / "config.json").exists() else None


def evaluate(cfg: dict, checkpoint: Path | None, root: Path, repo: Path, run_id: str | None = None,
             checkpoint_id: str | None = None) -> dict:
    """Run the configured adapters on ``checkpoint``; returns {name: {metrics, info, ...}} plus ``_stage``
    (the evaluation stage's directory), and logs to MLflow run ``run_id``. ``checkpoint_id`` stands for
    the checkpoint's hash when there is no checkpoint (``mosaic eval`` scoring existing outputs).

    The evaluation is a stage keyed by the checkpoint's hash (and the baseline's, for pairwise) and the
    evaluation settings: a finished one is reused; an unfinished one resumes from its caches."""
    selected = cfg.get("eval") or {}
    unknown = [n for n in selected if n not in ORDER]
    if unknown:
        raise ValueError(f"unknown eval {unknown}; known: {list(ORDER)}")
    baseline = None
    if "pairwise" in selected:
        variant = (selected["pairwise"] or {}).get("baseline_variant", "none")
        baseline = None if cfg.get("variant") == variant else find_baseline(cfg, repo, variant)
    stage = Stage(root, "eval", eval_key(checkpoint_id or checkpoint_hash(checkpoint), cfg,
                                         checkpoint_hash(baseline) if baseline else None))
    if not stage.done():
        with stage.claim() as work:
            if not stage.done():
                _run_adapters(cfg, checkpoint, baseline, work, repo, run_id, checkpoint_id)
                stage.commit({"adapters": [n for n in ORDER if n in selected],
                              "checkpoint": str(checkpoint or checkpoint_id)})
                return {**_load(stage.final, selected), "_stage": str(stage.final)}
    results = _load(stage.final, selected)
    if run_id:  # finished earlier, for another MLflow run (or before the store was reset)
        for name, res in results.items():
            log_adapter(run_id, cfg, repo, name, res["metrics"], res["info"], res.get("tables", {}),
                        [stage.final / a for a in res.get("artifacts", [])])
        _log_status(run_id, cfg, repo, results, {})
    return {**results, "_stage": str(stage.final)}


def _load(directory: Path, selected: dict) -> dict:
    return {n: json.loads((directory / f"{n}.result.json").read_text()) for n in ORDER if n in selected}


def _run_adapters(cfg: dict, checkpoint: Path | None, baseline: Path | None, work: Path, repo: Path,
                  run_id: str | None, checkpoint_id: str | None = None) -> None:
    selected = cfg.get("eval") or {}
    ctx = context_for(cfg, checkpoint, work, checkpoint_id=checkpoint_id)
    results, failed = {}, {}
    for name in [n for n in ORDER if n in selected]:
        acfg = dict(selected[name] or {})
        if name == "pairwise":
            variant = acfg.get("baseline_variant", "none")
            if cfg.get("variant") == variant:
                results[name] = {"metrics": {}, "info": {"skipped": f"this run is the baseline ({variant})"},
                                 "tables": {}, "artifacts": []}
                write_json(work / f"{name}.result.json", results[name])
                continue
            acfg["baseline_context"] = context_for(cfg, baseline, work / "baseline",
                                                   model_id=f"{variant}-s{cfg['seed']}") if baseline else None
        started, before = time.perf_counter(), judge_usage(ctx)
        print(f"[eval] {name}: running ...", flush=True)
        try:
            res = get_adapter(name)(ctx, acfg)
        except Exception as e:  # recorded, then raised after the other adapters ran
            failed[name] = f"{type(e).__name__}: {e}"
            (work / f"{name}.error.txt").write_text(traceback.format_exc())
            spent = judge_spending(ctx, name, before)
            partial = getattr(e, "partial", None)  # AdapterFailed: what finished is kept, the adapter is failed
            if partial is not None:
                write_json(work / f"{name}.partial.json", {"metrics": partial.metrics, "info": partial.info,
                                                           "tables": partial.tables})
            if run_id and partial is not None:
                log_adapter(run_id, cfg, repo, name, {**partial.metrics, **spent}, partial.info, partial.tables,
                            partial.artifacts)
            elif run_id and spent:
                _log_metrics(run_id, cfg, repo, spent)
            continue
        (work / f"{name}.partial.json").unlink(missing_ok=True)  # from an earlier, partly failed attempt
        res.info["seconds"] = round(time.perf_counter() - started, 1)  # wall time, generation and judging
        print(f"[eval] {name}: done in {res.info['seconds']:.0f}s", flush=True)
        res.metrics.update(judge_spending(ctx, name, before))
        if "judge" in vars(ctx) and getattr(ctx.judge, "price", None):
            res.info["judge_price_per_million"] = ctx.judge.price
        results[name] = {"metrics": res.metrics, "info": res.info, "tables": res.tables,
                         "artifacts": [os.path.relpath(p, work) for p in res.artifacts]}
        write_json(work / f"{name}.result.json", results[name])
        if run_id:
            log_adapter(run_id, cfg, repo, name, res.metrics, res.info, res.tables, res.artifacts)
    if run_id:
        _log_status(run_id, cfg, repo, results, failed)
    if failed:
        raise EvaluationFailed("; ".join(f"{k}: {v}" for k, v in failed.items()))


def judge_usage(ctx: EvalContext) -> Usage:
    """The judge's usage so far; zero while no adapter has asked for the judge (asking would build it)."""
    meter = getattr(vars(ctx).get("judge"), "usage", None)  # ``judge`` is a cached property
    return meter.snapshot() if meter is not None else Usage()


def judge_spending(ctx: EvalContext, name: str, before: Usage) -> dict[str, float]:
    """``judge_usage/<name>/...`` metrics for what the judge did since ``before``; none if it did nothing."""
    spent = judge_usage(ctx) - before
    if spent == Usage():
        return {}
    return usage_metrics(name, spent, getattr(vars(ctx).get("judge"), "price", None))


def _log_metrics(run_id: str, cfg: dict, repo: Path, metrics: dict) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    client_for(cfg, repo).log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])


def log_adapter(run_id: str, cfg: dict, repo: Path, name: str, metrics: dict, info: dict, tables: dict,
                artifacts) -> None:
    _log_metrics(run_id, cfg, repo, metrics)
    client = client_for(cfg, repo)
    client.log_dict(run_id, redact({"info": info, "tables": tables}), f"eval/{name}/info.json")
    for path in artifacts:
        client.log_artifact(run_id, str(path), f"eval/{name}")


def _log_status(run_id: str, cfg: dict, repo: Path, results: dict, failed: dict) -> None:
    client = client_for(cfg, repo)
    for name in results:
        client.set_tag(run_id, f"eval_status/{name}", "finished")
    for name, err in failed.items():
        client.set_tag(run_id, f"eval_status/{name}", "failed")
        client.set_tag(run_id, f"eval_error/{name}", err[:4000])
    judge = dict(cfg.get("judge") or {})
    client.set_tag(run_id, "judge", json.dumps(redact({k: v for k, v in judge.items() if k != "api_key"})))
