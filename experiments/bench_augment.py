"""Augmentation throughput benchmark (``make bench``).

Generates a dataset of realistic lengths (~250 SmolLM2 tokens per example), then measures, in
one run on this machine:
  * floor: one batch tokenization of every row (prompt + output), texts already in memory;
  * mosaic: ``mosaic augment`` with the paper's defaults (all, uniform, max_count 10, 2000 tokens,
    4 passes) end to end (read, validate, tokenize once, 4 passes, write), in a child process;
  * peak RSS of that child, and of a child that only imports and loads the tokenizer.
Usage: python experiments/bench_augment.py [--rows 50000] [--passes 4] [--repeats 3] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def vocabulary() -> list[str]:
    from mosaic.data.bundled import INSTRUCTIONS

    words: list[str] = []
    for line in INSTRUCTIONS.read_text(encoding="utf-8").splitlines():
        words += json.loads(line)["output"].split()
    return words


def make_dataset(path: Path, rows: int, seed: int = 0) -> None:
    """Rows of ~45 prompt words and ~150 output words (about 250 tokens), written streaming."""
    rng = random.Random(seed)
    words = vocabulary()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(rows):
            prompt = " ".join(rng.choices(words, k=rng.randint(20, 70)))
            output = " ".join(rng.choices(words, k=rng.randint(90, 210)))
            inp = " ".join(rng.choices(words, k=rng.randint(5, 30))) if i % 3 == 0 else ""
            fh.write(json.dumps({"id": f"b{i}", "instruction": prompt, "input": inp, "output": output}) + "\n")


def floor_seconds(path: Path, limit_rows: int = 200_000, repeats: int = 1) -> tuple[float, int, int]:
    """Batch-tokenize prompt+output of (up to limit_rows) rows, best of ``repeats``; scaled to all rows
    if limited."""
    from mosaic.models.tokenizer import load_tokenizer

    tok = load_tokenizer("smollm2").backend_tokenizer
    texts, total_rows = [], 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            total_rows += 1
            if len(texts) < limit_rows:
                r = json.loads(line)
                texts.append(f"{r['instruction']}\n{r['input']}\n{r['output']}")
    secs = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        tokens = 0
        for i in range(0, len(texts), 2048):
            tokens += sum(len(e) for e in tok.encode_batch_fast(texts[i:i + 2048], add_special_tokens=False))
        secs = min(secs, time.perf_counter() - t)
    scale = total_rows / len(texts)
    return secs * scale, int(tokens * scale), total_rows


CHILD_TOKENIZER_ONLY = "from mosaic.models.tokenizer import load_tokenizer; load_tokenizer('smollm2')"


def child(code_or_args: list[str]) -> tuple[float, float]:
    """Run a child Python process; return (wall seconds, its peak RSS in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([sys.executable, *code_or_args], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        print("warning: RSS of this child not separable from an earlier, larger one", file=sys.stderr)
    return wall, peak / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--passes", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3,
                    help="best of N for both the floor and the augmentation (the machine is shared and noisy)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mosaic-bench-") as tmp:
        tmp = Path(tmp)
        data, out = tmp / "bench.jsonl", tmp / "out.jsonl"
        t = time.perf_counter()
        make_dataset(data, args.rows)
        print(f"generated {args.rows} rows ({data.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s")
        # Tokenizer-only child first: RUSAGE_CHILDREN keeps the max over children, so the smaller goes first.
        _, rss_tok = child(["-c", CHILD_TOKENIZER_ONLY])
        mosaic_s, wall, rss = float("inf"), float("inf"), 0.0
        for _ in range(args.repeats):
            w, r = child(["-m", "mosaic.cli", "augment", "--input", str(data), "--output", str(out),
                          "--passes", str(args.passes), "--quiet", "--workdir", str(tmp)])
            summary = json.loads((tmp / "out.summary.json").read_text())
            mosaic_s = min(mosaic_s, summary["timings"]["ingest_s"] + summary["timings"]["mosaic_s"])
            wall, rss = min(wall, w), max(rss, r)
        floor, tokens, rows = floor_seconds(data, repeats=args.repeats)
    result = {
        "rows": rows, "passes": args.passes, "tokens_per_row": tokens / rows,
        "floor_tokenize_s": floor, "mosaic_s": mosaic_s, "mosaic_wall_s_incl_startup": wall,
        "ratio_to_floor": mosaic_s / floor, "repeats": args.repeats, "rows_per_s": rows * args.passes / mosaic_s,
        "samples": summary["samples"], "mean_count": summary["count"]["mean"],
        "exact_checks": summary["budget_checks"]["exact"], "peak_rss_mb": rss,
        "tokenizer_only_rss_mb": rss_tok, "rss_beyond_tokenizer_mb": rss - rss_tok,
        "cpu_count": os.cpu_count(),
    }
    print(f"rows                    {rows} (~{result['tokens_per_row']:.0f} tokens each), {args.passes} passes, "
          f"best of {args.repeats}")
    print(f"floor (batch tokenize)  {floor:.2f}s")
    print(f"mosaic augment          {mosaic_s:.2f}s  ({result['rows_per_s']:.0f} rows/s over all passes; "
          f"{wall:.1f}s wall incl. start-up)")
    print(f"ratio to floor          {result['ratio_to_floor']:.2f}x  (target <= 2x)")
    print(f"samples                 {summary['samples']} (mean {summary['count']['mean']:.2f} instructions)")
    print(f"peak RSS                {rss:.0f} MB  (tokenizer alone {rss_tok:.0f} MB; beyond it {rss - rss_tok:.0f} MB)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
