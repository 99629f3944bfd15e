"""The mosaic-following benchmark (``evaluation.mosaic_bench``) on a run: generate, check, aggregate.

Scores structure (count, tags, order, masked instructions) and content (each sub-answer) by strategy,
rule, k and vocabulary (train phrasings vs held-out phrasings and tag styles never seen in training).
"""
from __future__ import annotations

from dataclasses import asdict

from mosaic.data.io import write_json, write_jsonl

from . import AdapterResult, register
from .. import mosaic_bench as mb


@register("mosaic_bench")
def run(ctx, cfg: dict) -> AdapterResult:
    items = mb.build(ks=tuple(cfg.get("ks", (1, 2, 3, 4, 5, 6))), n_per_cell=int(cfg.get("n_per_cell", 2)),
                     seed=int(cfg.get("seed", 0)), vocabularies=tuple(cfg.get("vocabularies", ("train", "heldout"))))
    responses = ctx.generate([[{"role": "user", "content": it.prompt}] for it in items],
                             max_new_tokens=int(cfg.get("max_new_tokens", 512)))
    results = [mb.check(it, r) for it, r in zip(items, responses)]
    rows = mb.aggregate(items, results)
    out = ctx.out_dir / "mosaic_bench"
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "responses.jsonl", ({"id": it.id, "strategy": it.strategy, "rule": it.rule, "k": it.k,
                                          "vocabulary": it.vocabulary, "prompt": it.prompt, "response": r,
                                          "check": asdict(c)} for it, r, c in zip(items, responses, results)))
    write_json(out / "table.json", rows)
    n = len(results)
    metrics = {"mosaic_bench/structure_acc": sum(c.structure_ok for c in results) / n,
               "mosaic_bench/content_acc": sum(c.content_ok for c in results) / n,
               "mosaic_bench/both_acc": sum(c.structure_ok and c.content_ok for c in results) / n}
    for vocab in {it.vocabulary for it in items}:
        sel = [c for it, c in zip(items, results) if it.vocabulary == vocab]
        metrics[f"mosaic_bench/{vocab}/structure_acc"] = sum(c.structure_ok for c in sel) / len(sel)
    for strategy in sorted({it.strategy for it in items}):
        sel = [c for it, c in zip(items, results) if it.strategy == strategy]
        metrics[f"mosaic_bench/{strategy}/structure_acc"] = sum(c.structure_ok for c in sel) / len(sel)
    return AdapterResult(metrics=metrics, artifacts=[out / "responses.jsonl", out / "table.json"],
                         info={"n_items": n, "template": ctx.template, "ks": list(cfg.get("ks", [])),
                               "vocabularies": list(cfg.get("vocabularies", []))},
                         tables={"mosaic_bench": rows})
