"""``augment_file``: input file -> mosaic JSONL + summary, streaming and atomic. Used by the CLI."""
from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm.auto import tqdm

from ..data.errors import ErrorReport
from ..data.io import atomic_open, file_sha256, write_json, write_jsonl
from ..data.sources import resolve_examples
from ..data.templates import get_template
from ..models.tokenizer import load_tokenizer, tokenizer_id
from .budget import TokenCounter
from .engine import TRANSFORM_VERSION, AugmentConfig, MosaicBuilder, RowStore, scratch_dir
from .summary import AugmentSummary


def side_path(output: Path, suffix: str) -> Path:
    name = output.name[: -len(".jsonl")] if output.name.endswith(".jsonl") else output.stem
    return output.with_name(f"{name}.{suffix}")


def augment_file(input_spec: str, output: str | Path, tokenizer: str, config: AugmentConfig, *,
                 fmt: str = "auto", on_error: str = "raise", multi_turn: str = "first",
                 workdir: str | Path | None = None, progress: bool = True) -> dict:
    output = Path(output)
    t0 = time.perf_counter()
    tok = load_tokenizer(tokenizer)
    counter = TokenCounter(tok, get_template(config.template), config.exact_margin)
    report = ErrorReport(on_error)
    conv_stats: dict = {}
    examples = resolve_examples(input_spec, fmt=fmt, report=report, multi_turn=multi_turn, stats=conv_stats)
    timings = {"load_tokenizer_s": time.perf_counter() - t0}
    with scratch_dir(Path(workdir) if workdir else None) as tmp:
        t1 = time.perf_counter()
        with tqdm(desc="read+tokenize", unit=" rows", disable=not progress) as bar:
            store = RowStore.build(examples, counter, Path(tmp), on_rows=bar.update)
        timings["ingest_s"] = time.perf_counter() - t1
        if len(store) == 0:
            store.close()
            raise ValueError(f"no usable rows in {input_spec} ({report.summary()})")
        builder = MosaicBuilder(store, counter, config)
        summary = AugmentSummary()
        t2 = time.perf_counter()
        try:
            with atomic_open(output) as fh, tqdm(total=len(store) * config.passes, desc="mosaic", unit=" rows",
                                                   disable=not progress) as bar:
                for sample in builder.iter_passes(on_rows=bar.update):
                    summary.add(sample)
                    fh.write(json.dumps(sample, ensure_ascii=False) + "\n")
        finally:
            store.close()
        timings["mosaic_s"] = time.perf_counter() - t2
        rows_in = len(store)
    over = builder.over_budget
    over_path = side_path(output, "over_budget.jsonl")
    if over:
        write_jsonl(over_path, ({"pass": o.pass_index, "id": o.id, "tokens_at_least": o.tokens} for o in over))
    timings["total_s"] = time.perf_counter() - t0
    result = {
        "input": str(input_spec), "output": str(output), "output_sha256": file_sha256(output),
        "transform_version": TRANSFORM_VERSION, "config": config.__dict__,
        "config_fingerprint": config.fingerprint(tokenizer_id(tok)), "tokenizer": tokenizer_id(tok),
        "rows_in": rows_in, "rows_skipped": report.count, "skipped": [str(e) for e in report.errors[:50]],
        "conversations": conv_stats, "over_budget": len(over),
        "over_budget_file": str(over_path) if over else None,
        "template_overhead_tokens": counter.overhead, "budget_checks": counter.stats.as_dict(),
        "timings": timings, **summary.as_dict(),
    }
    write_json(side_path(output, "summary.json"), result)
    return result
