"""Per-item outputs and scores of every training run's evaluations, from its MLflow artifacts, for
``results/items/`` (so a verdict can be checked item by item) and for the item-level statistics
(``paired.py``). One reader per source; each returns rows with an ``id``, sorted by it.

Sources: ``mosaic_bench`` (structure and content per prompt), ``verifiable`` (exact match), ``lm_eval``
(the headline metric per document), ``heldout`` (response NLL per example and probe point).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from mosaic.data.io import write_jsonl


def _mosaic_bench(text: str) -> list[dict]:
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [{"id": r["id"], "strategy": r["strategy"], "rule": r["rule"], "k": r["k"], "vocabulary": r["vocabulary"],
             "structure_ok": r["check"]["structure_ok"], "content_ok": r["check"]["content_ok"],
             "response": r["response"]} for r in rows]


def _verifiable(text: str) -> list[dict]:
    return [{k: r[k] for k in ("id", "family", "correct", "answer", "response")}
            for r in (json.loads(line) for line in text.splitlines() if line.strip())]


def _lm_eval(text: str) -> list[dict]:
    out = []
    for task, samples in json.loads(text).items():
        for s in samples:
            if s.get("doc_id") is None:  # written before per-item scores were kept
                return []
            score = {k: v for k, v in s.items() if k not in ("doc_id", "doc", "target", "resps")}
            out.append({"id": f"{task}/{s['doc_id']}", "task": task, **score})
    return out


def _heldout(text: str) -> list[dict]:
    return [{"id": f"{name}/{item}/{p['milestone']}", "set": name, "item": item, "milestone": p["milestone"],
             "step": p["step"], "real_tokens_seen": p["real_tokens_seen"], "final": p["final"],
             "nll_sum": v, "tokens": n}
            for p in json.loads(text)["points"] for name, s in p["sets"].items()
            for item, (v, n) in s["items"].items()]


SOURCES: dict[str, tuple[str, Callable[[str], list[dict]]]] = {
    "mosaic_bench": ("eval/mosaic_bench/responses.jsonl", _mosaic_bench),
    "verifiable": ("eval/verifiable/items.jsonl", _verifiable),
    "lm_eval": ("eval/lm_eval/samples.json", _lm_eval),
    "heldout": ("heldout.json", _heldout),
}


def run_items(store, run_id: str) -> dict[str, list[dict]]:
    """{source: rows} for the sources this run has."""
    out = {}
    for name, (path, read) in SOURCES.items():
        text = store.optional_artifact_text(run_id, path)
        rows = read(text) if text is not None else []
        if rows:
            out[name] = sorted(rows, key=lambda r: str(r["id"]))
    return out


def export_items(items: dict, training: dict, out_dir: Path) -> dict[str, dict[str, int]]:
    """``<out_dir>/<variant>-s<seed>/<source>.jsonl`` for every training run (``items``: (variant, seed)
    -> :func:`run_items`); returns the item counts per run and source (for summary.json). Files of runs
    no longer in the study are removed."""
    counts: dict[str, dict[str, int]] = {}
    keep = set()
    for (variant, seed), r in sorted(training.items(), key=lambda x: x[0]):
        name = f"{variant}-s{seed}"
        for source, rows in items.get((variant, seed), {}).items():
            path = out_dir / name / f"{source}.jsonl"
            write_jsonl(path, ({"run_id": r.run_id, **row} for row in rows))
            keep.add(path)
            counts.setdefault(name, {})[source] = len(rows)
    for stale in out_dir.glob("*/*.jsonl") if out_dir.exists() else []:
        if stale not in keep:
            stale.unlink()
    return counts
