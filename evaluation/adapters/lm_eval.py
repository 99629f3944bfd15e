"""lm-evaluation-harness on the in-memory model (``lm_eval.simple_evaluate`` with ``HFLM``).

What is scored: ``eval.lm_eval.tasks`` (any lm-eval task or group, each with shots and headline metric;
see :mod:`evaluation.lm_eval_tasks`), else a shipped suite:
  * ``bundled``: four local multiple-choice tasks written by this project (``evaluation/data/mc``), offline;
    also available together as the group ``mosaic_mc``;
  * ``openllm_v1``: the Open LLM Leaderboard v1 six (ARC-Challenge 25 acc_norm, HellaSwag 10 acc_norm,
    MMLU 5 acc, TruthfulQA-MC2 0 acc, Winogrande 5 acc, GSM8K 5 exact match), Hub datasets;
  * ``ifeval``: IFEval (generative; NLTK's ``punkt_tab`` must be present, see README).

Before the model is loaded every task is resolved and its data checked (pre-flight). Tasks then run one
``simple_evaluate`` call each; a group's score is lm-eval's own aggregate. Each task's result is written as
soon as it finishes (``lm_eval/tasks/<task>.json``), so a killed or partly failed evaluation resumes with the
finished tasks reused; a failing task does not stop the others, and the adapter then fails naming each
failed task and its error, with the finished tasks logged. Log-likelihood tasks are scored without a chat
template, as the leaderboard did; ``chat_template: true`` applies the tokenizer's (recorded either way).
"""
from __future__ import annotations

import json
import traceback
from pathlib import Path

from mosaic.data.io import write_json

from ..lm_eval_tasks import TaskSpec, bundled_task_dir, fingerprint, preflight, selected_specs
from . import AdapterFailed, AdapterResult, register

NOT_SCORES = ("alias", "name", "sample_len", "sample_count")


def headline(scores: dict, spec: TaskSpec) -> tuple[str, str]:
    """(metric, filter) to report: the spec's, else the first metric lm-eval lists for the task."""
    if spec.metric is None:
        keys = [k for k in scores if "," in k and "_stderr" not in k.split(",")[0] and k not in NOT_SCORES]
        if not keys:
            raise KeyError(f"lm-eval reported no metric for {spec.name}")
        metric, flt = keys[0].split(",", 1)
        return metric, flt
    if f"{spec.metric},{spec.filter}" not in scores:
        known = sorted(k for k in scores if "," in k and "_stderr" not in k)
        raise KeyError(f"{spec.name} has no metric {spec.metric!r} with filter {spec.filter!r}; lm-eval reported {known}")
    return spec.metric, spec.filter


def summarise(res: dict, spec: TaskSpec, leaves: list[str]) -> tuple[dict, dict]:
    """(row, samples) of one ``simple_evaluate`` result; a group's value is lm-eval's aggregate."""
    group = spec.name in (res.get("groups") or {})
    scores = res["groups"][spec.name] if group else res["results"][spec.name]
    metric, flt = headline(scores, spec)
    stderr = scores.get(f"{metric}_stderr,{flt}")
    samples = {}
    for leaf in leaves if group else [spec.name]:
        samples[leaf] = [{"doc_id": s.get("doc_id"), metric: s.get(metric), "doc": s.get("doc"),
                          "target": s.get("target"), "resps": s.get("filtered_resps")}
                         for s in res["samples"].get(leaf, []) if s.get("filter", "none") == flt]
    samples = json.loads(json.dumps(samples, default=str))  # documents as lm-eval logged them, JSON-safe
    row = {"task": spec.name, "shots": res.get("n-shot", {}).get(spec.name, spec.shots), "metric": metric,
           "value": float(scores[f"{metric},{flt}"]),
           "stderr": float(stderr) if isinstance(stderr, (int, float)) else None,
           "n": sum(len(v) for v in samples.values())}
    if flt != "none":
        row["filter"] = flt
    if group:
        row["subtasks"] = len(samples)
    return row, samples


def metric_name(row: dict) -> str:
    return f"lm_eval/{row['task']}/{row['metric']}" + (f"/{row['filter']}" if "filter" in row else "")


def _task_file(tasks_dir: Path, spec: TaskSpec) -> Path:
    return tasks_dir / f"{''.join(c if c.isalnum() or c in '-_.' else '_' for c in spec.name)}.json"


@register("lm_eval")
def run(ctx, cfg: dict) -> AdapterResult:
    import lm_eval
    import torch
    from lm_eval.tasks import TaskManager

    label, specs = selected_specs(cfg)
    out = ctx.out_dir / "lm_eval"
    tasks_dir = out / "tasks"
    tasks_dir.mkdir(parents=True, exist_ok=True)
    include = [str(bundled_task_dir(out)), *[str(Path(p).expanduser()) for p in cfg.get("include_path") or []]]
    manager = TaskManager(include_path=include)
    leaves = preflight(manager, specs, download=bool(cfg.get("download", False)))
    settings = {"limit": cfg.get("limit"), "chat_template": bool(cfg.get("chat_template", False)),
                "max_length": int(cfg.get("max_length", 2048)), "batch_size": int(cfg.get("batch_size", 8)),
                "seed": ctx.seed, "lm_eval_version": lm_eval.__version__}

    done: dict[str, dict] = {}
    for spec in specs:  # results of an earlier, interrupted attempt of this stage (same checkpoint and settings)
        path = _task_file(tasks_dir, spec)
        if path.exists():
            saved = json.loads(path.read_text())
            if (saved.get("spec"), saved.get("settings"), saved.get("inputs")) == \
                    (spec.as_dict(), settings, fingerprint(leaves[spec.name])):
                done[spec.name] = saved
    lm, failed = None, {}
    for i, spec in enumerate(specs, 1):
        if spec.name in done:
            print(f"[lm_eval] {i}/{len(specs)} {spec.name}: finished earlier, reused", flush=True)
            continue
        print(f"[lm_eval] {i}/{len(specs)} {spec.name} ({spec.shots if spec.shots is not None else 'default'}-shot) ...",
              flush=True)
        try:
            if lm is None:
                from lm_eval.models.huggingface import HFLM

                lm = HFLM(pretrained=ctx.model, tokenizer=ctx.tokenizer, batch_size=settings["batch_size"],
                          max_length=settings["max_length"],
                          mixed_precision_dtype=torch.bfloat16 if ctx.bf16 else None)
            res = lm_eval.simple_evaluate(model=lm, tasks=[spec.name], num_fewshot=spec.shots, task_manager=manager,
                                          limit=settings["limit"], log_samples=True, random_seed=ctx.seed,
                                          fewshot_random_seed=ctx.seed, bootstrap_iters=0,
                                          apply_chat_template=settings["chat_template"])
            row, samples = summarise(res, spec, [leaf for leaf, _ in leaves[spec.name]])
        except Exception as e:  # this task only: the others still run
            failed[spec.name] = f"{type(e).__name__}: {e}"
            (tasks_dir / f"{_task_file(tasks_dir, spec).stem}.error.txt").write_text(traceback.format_exc())
            print(f"[lm_eval] {spec.name} FAILED: {failed[spec.name]}", flush=True)
            continue
        done[spec.name] = {"spec": spec.as_dict(), "settings": settings, "inputs": fingerprint(leaves[spec.name]),
                           "row": row, "samples": samples}
        write_json(_task_file(tasks_dir, spec), done[spec.name])
        print(f"[lm_eval] {spec.name}: {row['metric']} = {row['value']:.4f} (n = {row['n']})", flush=True)

    rows = [done[s.name]["row"] for s in specs if s.name in done]
    metrics = {metric_name(r): r["value"] for r in rows}
    if rows and not failed:  # an average over some of the tasks is not the suite's average
        metrics["lm_eval/average"] = sum(r["value"] for r in rows) / len(rows)
    samples_path, results_path = out / "samples.json", out / "results.json"
    write_json(samples_path, {leaf: items for s in specs if s.name in done
                              for leaf, items in done[s.name]["samples"].items()})
    write_json(results_path, rows)
    result = AdapterResult(metrics=metrics, artifacts=[samples_path, results_path],
                           info={"suite": label, "tasks": [s.as_dict() for s in specs], "template": ctx.template,
                                 "chat_template": settings["chat_template"], "limit": settings["limit"],
                                 "lm_eval_version": lm_eval.__version__, "failed": failed},
                           tables={"lm_eval": rows})
    if failed:
        raise AdapterFailed(f"{len(failed)} of {len(specs)} lm-eval task(s) failed: "
                            + "; ".join(f"{k}: {v}" for k, v in failed.items()), partial=result)
    return result
