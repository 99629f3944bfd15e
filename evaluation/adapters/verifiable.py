"""Held-out verifiable tasks (judge-free): exact-match accuracy on single-instruction tasks of the
``heldout`` split (``mosaic.data.verifiable``), which no training spec draws from (``verifiable:N`` takes
the ``train`` split). A 135M model can move this number, and it needs no judge.

Per-item results (id, family, prompt, response, correct) go to ``verifiable/items.jsonl`` so a verdict
built on them can be checked item by item; accuracy is reported overall and per task family.
"""
from __future__ import annotations

from mosaic.data.io import write_jsonl
from mosaic.data.records import Example
from mosaic.data.verifiable import check, generate

from . import AdapterResult, register


def score(tasks, responses) -> tuple[list[bool], dict[str, float], list[dict]]:
    """(correct per item, metrics, per-family rows): accuracy overall and per task family."""
    correct = [check(t, r) for t, r in zip(tasks, responses, strict=True)]
    metrics = {"verifiable/accuracy": sum(correct) / len(correct)}
    rows = []
    for f in sorted({t.family for t in tasks}):
        sel = [c for t, c in zip(tasks, correct) if t.family == f]
        metrics[f"verifiable/{f}/accuracy"] = sum(sel) / len(sel)
        rows.append({"family": f, "n": len(sel), "accuracy": sum(sel) / len(sel)})
    return correct, metrics, rows


@register("verifiable")
def run(ctx, cfg: dict) -> AdapterResult:
    n = int(cfg.get("n", 120))
    if n < 1:
        raise ValueError(f"eval.verifiable.n must be >= 1, got {n}")
    tasks = generate("heldout", n, seed=int(cfg.get("seed", 0)))
    prompts = [Example(t.id, t.instruction, t.answer, t.input).prompt for t in tasks]
    responses = ctx.generate([[{"role": "user", "content": p}] for p in prompts],
                             max_new_tokens=int(cfg.get("max_new_tokens", 48)))
    correct, metrics, rows = score(tasks, responses)
    out = ctx.out_dir / "verifiable"
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "items.jsonl", ({"id": t.id, "family": t.family, "prompt": p, "answer": t.answer,
                                       "response": r, "correct": c}
                                      for t, p, r, c in zip(tasks, prompts, responses, correct)))
    return AdapterResult(metrics=metrics, artifacts=[out / "items.jsonl"],
                         info={"n_items": n, "split": "heldout", "template": ctx.template,
                               "max_new_tokens": int(cfg.get("max_new_tokens", 48))},
                         tables={"verifiable": rows})
