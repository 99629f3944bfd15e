"""lm-evaluation-harness on the in-memory model (``lm_eval.simple_evaluate`` with ``HFLM``).

Suites (each a list of (task, shots, headline metric)):
  * ``bundled``: four local multiple-choice tasks written by this project (``evaluation/data/mc``),
    offline; their task YAMLs are generated with absolute data paths at run time;
  * ``openllm_v1``: the Open LLM Leaderboard v1 set with its shots (ARC-Challenge 25, HellaSwag 10,
    MMLU 5, TruthfulQA-MC2 0), which needs the Hub datasets (or a warm HF cache);
  * ``ifeval``: IFEval (generative; NLTK's ``punkt_tab`` must be present, see README).
Log-likelihood tasks are scored without a chat template, as the leaderboard did; ``chat_template:
true`` applies the tokenizer's template (recorded either way).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..data import DATA_DIR
from . import AdapterResult, register

SUITES: dict[str, list[tuple[str, int, str]]] = {
    "bundled": [("mosaic_mc_arithmetic", 0, "acc"), ("mosaic_mc_science", 0, "acc"),
                ("mosaic_mc_commonsense", 0, "acc"), ("mosaic_mc_language", 0, "acc")],
    "openllm_v1": [("arc_challenge", 25, "acc_norm"), ("hellaswag", 10, "acc_norm"), ("mmlu", 5, "acc"),
                   ("truthfulqa_mc2", 0, "acc")],
    "ifeval": [("ifeval", 0, "prompt_level_strict_acc")],
}

TASK_YAML = """task: {task}
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files:
    test: {test}
    dev: {dev}
test_split: test
fewshot_split: dev
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list:
  - {{metric: acc, aggregation: mean, higher_is_better: true}}
  - {{metric: acc_norm, aggregation: mean, higher_is_better: true}}
metadata: {{version: 1.0}}
"""


def bundled_task_dir(out: Path) -> Path:
    """Task YAMLs for the bundled MC sets, pointing at the files inside the installed package."""
    tasks = out / "lm_eval_tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    for task, _, _ in SUITES["bundled"]:
        data = DATA_DIR / "mc" / task
        for split in ("test", "dev"):
            if not (data / f"{split}.jsonl").exists():
                raise FileNotFoundError(f"bundled lm-eval task {task}: missing {data / f'{split}.jsonl'}")
        (tasks / f"{task}.yaml").write_text(TASK_YAML.format(task=task, test=json.dumps(str(data / "test.jsonl")),
                                                             dev=json.dumps(str(data / "dev.jsonl"))))
    return tasks


@register("lm_eval")
def run(ctx, cfg: dict) -> AdapterResult:
    import lm_eval
    import torch
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    suite = cfg.get("suite", "bundled")
    if suite not in SUITES:
        raise ValueError(f"eval.lm_eval.suite must be one of {sorted(SUITES)}, got {suite!r}")
    out = ctx.out_dir / "lm_eval"
    out.mkdir(parents=True, exist_ok=True)
    manager = TaskManager(include_path=str(bundled_task_dir(out))) if suite == "bundled" else TaskManager()
    lm = HFLM(pretrained=ctx.model, tokenizer=ctx.tokenizer, batch_size=int(cfg.get("batch_size", 8)),
              max_length=int(cfg.get("max_length", 2048)),
              mixed_precision_dtype=torch.bfloat16 if ctx.bf16 else None)
    metrics: dict[str, float] = {}
    rows, samples = [], {}
    for task, shots, metric in SUITES[suite]:
        res = lm_eval.simple_evaluate(model=lm, tasks=[task], num_fewshot=shots, task_manager=manager,
                                      limit=cfg.get("limit"), log_samples=True, random_seed=ctx.seed,
                                      fewshot_random_seed=ctx.seed, bootstrap_iters=0,
                                      apply_chat_template=bool(cfg.get("chat_template", False)))
        scores = res["results"][task]
        value = float(scores[f"{metric},none"])
        stderr = scores.get(f"{metric}_stderr,none")
        metrics[f"lm_eval/{task}/{metric}"] = value
        rows.append({"task": task, "shots": shots, "metric": metric, "value": value,
                     "stderr": float(stderr) if isinstance(stderr, (int, float)) else None,
                     "n": len(res["samples"][task])})
        samples[task] = [{"doc_id": s.get("doc_id"), metric: s.get(metric), "doc": s.get("doc"),
                          "target": s.get("target"), "resps": s.get("filtered_resps")}
                         for s in res["samples"][task]]  # metric: the item's score, for item-level statistics
    metrics["lm_eval/average"] = sum(r["value"] for r in rows) / len(rows)
    path = out / "samples.json"
    path.write_text(json.dumps(samples, indent=1, default=str))
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    return AdapterResult(metrics=metrics, artifacts=[path, out / "results.json"],
                         info={"suite": suite, "template": ctx.template, "chat_template": bool(cfg.get("chat_template", False)),
                               "limit": cfg.get("limit"), "lm_eval_version": lm_eval.__version__},
                         tables={"lm_eval": rows})
