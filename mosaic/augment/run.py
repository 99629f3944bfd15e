"""``augment_file``: input -> mosaic JSONL + summary, streaming, atomic, passes in parallel. Used by the CLI.

Passes are independent given (seed, pass), so they run in forked worker processes, each writing
its own part file; the parts are concatenated in pass order, which gives the same bytes as a
sequential run (tested).
"""
from __future__ import annotations

import gc
import hashlib
import multiprocessing as mp
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from ..data.errors import ErrorReport
from ..data.io import atomic_open, write_json, write_jsonl
from ..data.sources import resolve_examples
from ..data.templates import get_template
from ..models.tokenizer import load_counting_tokenizer, tokenizer_id
from .budget import BudgetStats, TokenCounter
from .engine import TRANSFORM_VERSION, AugmentConfig, MosaicBuilder, RowStore, scratch_dir
from .summary import AugmentSummary

PARALLEL_MIN_ROW_PASSES = 8_000  # below this, forking costs more than it saves (4k rows x 4 passes: 2 workers win)
_WORKER: dict = {}  # the builder and progress counter, inherited by forked workers


class _SilentBar:
    """Stands in for a tqdm bar when progress is off (and spares importing tqdm)."""
    n = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def update(self, k: int = 1) -> None:
        self.n += k


def progress_bar(enabled: bool, **kwargs):
    if not enabled:
        return _SilentBar()
    from tqdm.auto import tqdm

    return tqdm(**kwargs)


def side_path(output: Path, suffix: str) -> Path:
    name = output.name[: -len(".jsonl")] if output.name.endswith(".jsonl") else output.stem
    return output.with_name(f"{name}.{suffix}")


def concat(part: Path, fh, digest=None) -> None:
    """Append a file to an open binary file, in the kernel where possible; with ``digest``, feed the
    part's bytes to it first, read into one reused buffer (the output's SHA-256 without reading it again)."""
    fh.flush()
    with open(part, "rb") as src:
        size, offset = os.fstat(src.fileno()).st_size, 0
        if digest is not None:
            buf = bytearray(1 << 22)
            view = memoryview(buf)
            while n := src.readinto(buf):
                digest.update(view[:n])
            src.seek(0)
        try:
            while offset < size:
                offset += os.sendfile(fh.fileno(), src.fileno(), offset, size - offset)
        except OSError:
            src.seek(offset)
            shutil.copyfileobj(src, fh, 1 << 22)


def _run_pass(builder: MosaicBuilder, e: int, part: Path, tick: Callable[[int], None]):
    builder.over_budget, builder.counter.stats = [], BudgetStats()
    summary = AugmentSummary()
    lines: list[bytes] = []
    with open(part, "wb") as fh:
        for line, count, n_tokens, provenance in builder.iter_lines(e, tick):
            summary.add_fields(count, n_tokens, provenance)
            lines.append(line)
            if len(lines) >= 256:  # one write per block: per-call overhead of the text layer adds up
                lines.append(b"")  # for the last newline, without copying the block once more
                fh.write(b"\n".join(lines))
                lines.clear()
        if lines:
            lines.append(b"")
            fh.write(b"\n".join(lines))
    return summary, builder.over_budget, builder.counter.stats


def _init_worker() -> None:
    # The parent used the tokenizer's thread pool before forking; a child must not (it may deadlock).
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _worker(job: tuple[int, str]):
    e, part = job
    shared, pending = _WORKER["progress"], [0]

    def tick(n: int) -> None:
        pending[0] += n
        if pending[0] >= 512:
            with shared.get_lock():
                shared.value += pending[0]
            pending[0] = 0

    result = _run_pass(_WORKER["builder"], e, Path(part), tick)
    with shared.get_lock():
        shared.value += pending[0]
    return result


def run_passes(builder: MosaicBuilder, parts: list[Path], workers: int, bar,
               on_part: Callable[[Path], None]) -> list:
    """Build every pass into its part file; ``on_part`` gets each part in pass order as soon as it is
    done, so appending it to the output overlaps with the passes still running."""
    if workers <= 1:
        results = []
        for e, part in enumerate(parts):
            results.append(_run_pass(builder, e, part, bar.update))
            on_part(part)
        return results
    ctx = mp.get_context("fork")
    _WORKER.update(builder=builder, progress=ctx.Value("q", 0))
    results = []
    gc.freeze()  # the children's collector then leaves the inherited rows alone (fewer copied pages)
    try:
        with ctx.Pool(workers, initializer=_init_worker) as pool:
            ordered = pool.imap(_worker, [(e, str(p)) for e, p in enumerate(parts)], chunksize=1)
            while len(results) < len(parts):
                try:
                    results.append(ordered.next(timeout=0.25))
                    on_part(parts[len(results) - 1])
                except mp.TimeoutError:
                    pass
                bar.update(_WORKER["progress"].value - bar.n)
        return results
    finally:
        gc.unfreeze()
        _WORKER.clear()


def _note_first_row(examples, timings: dict, t0: float):
    """Pass the rows through, recording when the first one was read (``first_row_s`` after ``t0``)."""
    for ex in examples:
        timings.setdefault("first_row_s", time.perf_counter() - t0)
        yield ex


def augment_file(input_spec: str, output: str | Path, tokenizer: str, config: AugmentConfig, *,
                 fmt: str = "auto", on_error: str = "raise", multi_turn: str = "first",
                 workdir: str | Path | None = None, workers: int | None = None, progress: bool = True) -> dict:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")  # explicit, so forking does not warn
    output = Path(output)
    started, t0 = time.time(), time.perf_counter()
    tok = load_counting_tokenizer(tokenizer)
    counter = TokenCounter(tok, get_template(config.template), config.exact_margin)
    report = ErrorReport(on_error)
    conv_stats: dict = {}
    examples = resolve_examples(input_spec, fmt=fmt, report=report, multi_turn=multi_turn, stats=conv_stats)
    timings = {"started_unix": started, "load_tokenizer_s": time.perf_counter() - t0}
    examples = _note_first_row(examples, timings, t0)
    with scratch_dir(Path(workdir) if workdir else None) as tmp:
        t1 = time.perf_counter()
        with progress_bar(progress, desc="read+tokenize", unit=" rows") as bar:
            store = RowStore.build(examples, counter, Path(tmp), on_rows=bar.update)
        timings["ingest_s"] = time.perf_counter() - t1
        rows_in = len(store)
        try:
            if rows_in == 0:
                raise ValueError(f"no usable rows in {input_spec} ({report.summary()})")
            builder = MosaicBuilder(store, counter, config)
            if workers is None:
                big = rows_in * config.passes >= PARALLEL_MIN_ROW_PASSES
                workers = min(config.passes, os.cpu_count() or 1) if big else 1
            parts = [Path(tmp) / f"pass-{e}.jsonl" for e in range(config.passes)]
            t2, digest = time.perf_counter(), hashlib.sha256()
            with progress_bar(progress, total=rows_in * config.passes, desc=f"mosaic x{config.passes}",
                              unit=" rows") as bar, atomic_open(output, "wb", encoding=None) as fh:
                results = run_passes(builder, parts, workers, bar, lambda part: concat(part, fh, digest))
            timings["mosaic_s"] = time.perf_counter() - t2
        finally:
            store.close()
    summary, stats, over = AugmentSummary(), BudgetStats(), []
    for s, o, b in results:
        summary.merge(s)
        over.extend(o)
        stats.merge(b)
    over_path = side_path(output, "over_budget.jsonl")
    if over:
        write_jsonl(over_path, ({"pass": o.pass_index, "id": o.id, "tokens_at_least": o.tokens} for o in over))
    timings["total_s"] = time.perf_counter() - t0
    result = {
        "input": str(input_spec), "output": str(output), "output_sha256": digest.hexdigest(),
        "transform_version": TRANSFORM_VERSION, "config": config.__dict__,
        "config_fingerprint": config.fingerprint(tokenizer_id(tok)), "tokenizer": tokenizer_id(tok),
        "rows_in": rows_in, "rows_skipped": report.count, "skipped": [str(e) for e in report.errors[:50]],
        "conversations": conv_stats, "over_budget": len(over),
        "over_budget_file": str(over_path) if over else None, "workers": workers,
        "template_overhead_tokens": counter.overhead, "budget_checks": stats.as_dict(),
        "timings": timings, **summary.as_dict(),
    }
    write_json(side_path(output, "summary.json"), result)
    return result


__all__ = ["augment_file", "side_path"]
