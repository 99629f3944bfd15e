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
import math
import re
import traceback
from pathlib import Path

from mosaic.data.io import write_json

from ..lm_eval_tasks import TaskSpec, bundled_task_dir, fingerprint, preflight, selected_specs
from . import AdapterFailed, AdapterResult, register


def headline(scores: dict, spec: TaskSpec) -> tuple[str, str]:
    """(metric, filter) to report: the spec's; a metric left out is the first lm-eval lists, a filter left
    out is ``none`` or the only one reported with the metric."""
    reported = [k for k in scores if "," in k and "_stderr" not in k.split(",")[0]]
    if not reported:
        raise KeyError(f"lm-eval reported no metric for {spec.name}")
    metric = spec.metric or reported[0].split(",", 1)[0]
    filters = [k.split(",", 1)[1] for k in reported if k.split(",", 1)[0] == metric]
    flt = spec.filter or ("none" if "none" in filters or not filters else filters[0] if len(filters) == 1 else None)
    if flt is None or flt not in filters:
        raise KeyError(f"{spec.name} has no metric {metric!r} with filter {spec.filter or 'none'!r}; "
                       f"lm-eval reported {sorted(reported)}")
    return metric, flt


def _shots(res: dict, name: str, leaves: list[str]):
    """n-shot of a task, or of a group's leaves (one number when they agree; lm-eval leaves nested groups out)."""
    if name in res.get("n-shot", {}):
        return res["n-shot"][name]
    values = sorted({res.get("n-shot", {}).get(leaf) for leaf in leaves} - {None})
    return values[0] if len(values) == 1 else values or None


def summarise(res: dict, spec: TaskSpec, leaves: list[str]) -> tuple[dict, dict]:
    """(row, samples) of one ``simple_evaluate`` result; a group's value is lm-eval's aggregate."""
    group = spec.name in (res.get("groups") or {})
    scores = res["groups"][spec.name] if group else res["results"][spec.name]
    metric, flt = headline(scores, spec)
    samples = {}
    for leaf in leaves if group else [spec.name]:
        samples[leaf] = [{"doc_id": s.get("doc_id"), metric: s.get(metric), "doc": s.get("doc"),
                          "target": s.get("target"), "resps": s.get("filtered_resps")}
                         for s in res["samples"].get(leaf, []) if s.get("filter", "none") == flt]
    samples = json.loads(json.dumps(samples, default=str))  # documents as lm-eval logged them, JSON-safe
    value = float(scores[f"{metric},{flt}"])
    items = [s[metric] for v in samples.values() for s in v]
    row = {"task": spec.name, "shots": _shots(res, spec.name, leaves), "metric": metric, "value": value,
           "stderr": mean_stderr(items, value), "n": len(items)}
    if flt != "none":
        row["filter"] = flt
    if group:
        row["subtasks"] = len(samples)
    return row, samples


def mean_stderr(items: list, value: float) -> float | None:
    """Standard error of the mean of the item scores, when the reported value is that mean (lm-eval's own
    stderr needs its bootstrap, which is off); None for corpus-level metrics."""
    if len(items) < 2 or not all(isinstance(x, (int, float)) for x in items):
        return None
    xs = [float(x) for x in items]
    mean = sum(xs) / len(xs)
    if abs(mean - value) > 1e-9:
        return None
    return math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1) / len(xs))


def metric_name(row: dict) -> str:
    """``lm_eval/<task>/<metric>[/<filter>]`` with characters MLflow refuses (``@``, ``:``, ...) as ``_``."""
    name = f"{row['task']}/{row['metric']}" + (f"/{row['filter']}" if "filter" in row else "")
    return "lm_eval/" + re.sub(r"[^\w./ -]", "_", name)


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
        (tasks_dir / f"{_task_file(tasks_dir, spec).stem}.error.txt").unlink(missing_ok=True)
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
