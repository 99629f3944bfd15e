"""Training memory (part of ``make bench-train``): peak RSS and real tokens/s of SmolLM2-135M on one
micro-batch of 4 Mosaic-IT-length samples (about 2000 tokens each, dynamic padding), per precision,
with and without the chunked loss (mosaic/train/loss.py), activation checkpointing and the fixed glibc
mmap threshold that training sets together with checkpointing (mosaic/hardware.py
``host_memory_policy``). The first case of each precision is the recipe as it was before issue 12 (full
logits); the second is today's default (chunked loss); the last is ``train.gradient_checkpointing=true``.

Each case runs in a fresh process (peak RSS only grows), trains ``--steps`` optimiser steps with the
recipe (AdamW state included) and reports the process's peak RSS and the real tokens/s of the steps
after the first. Target (issue 12): at most 4 GB in bf16 and in fp32 at micro-batch 4 x 2000.
Usage: python experiments/bench_memory.py [--steps 2] [--json results/bench_memory.json]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

CASES = [  # (precision, chunked loss, activation checkpointing, fixed mmap threshold)
    (p, *flags) for p in ("fp32", "bf16")
    for flags in ((False, False, False), (True, False, False), (True, True, False), (True, True, True))
]


def one_case(precision: str, chunked: bool, ckpt: bool, mmap: bool, steps: int, batch: int, length: int) -> dict:
    import torch

    from mosaic.hardware import bf16_supported, limit_host_fragmentation
    from mosaic.models.build import build_model
    from mosaic.train.config import TrainConfig
    from mosaic.train.features import IGNORE, Encoded
    from mosaic.train.recipe import train

    if precision == "bf16" and not bf16_supported("cpu"):
        return {"skipped": "this CPU has no bf16 kernels"}
    if mmap and not limit_host_fragmentation():
        return {"skipped": "libc is not glibc"}
    g = torch.Generator().manual_seed(0)
    examples = []
    for i in range(batch * steps):
        n = length - 10 * (i % batch)  # rows of different lengths: a padding mask, as real batches have
        ids = torch.randint(1, 49152, (n,), generator=g).tolist()
        examples.append(Encoded(ids, [IGNORE] * 120 + ids[120:]))
    model = build_model({"source": "smollm2", "max_len": length}, 49152)
    cfg = TrainConfig(regime="dynamic", max_len=length, batch_size=batch, epochs=1, lr=1e-5, warmup_ratio=0.0,
                      bf16=precision == "bf16", chunked_loss=chunked, gradient_checkpointing=ckpt, max_steps=steps)
    history = train(model, examples, cfg, pad_id=0).history
    timed = history[1:] or history
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "real_tokens_per_s": sum(h["real_tokens"] for h in timed) / sum(h["seconds"] for h in timed),
            "loss_first_step": history[0]["loss"], "steps": len(history)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--length", type=int, default=2000)
    ap.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case in this process
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.case:
        precision, *flags = args.case.split(",")
        print(json.dumps(one_case(precision, *(f == "1" for f in flags), args.steps, args.batch_size, args.length)))
        return
    from mosaic.hardware import describe

    machine = describe("cpu")["device_name"]
    rows = []
    for precision, chunked, ckpt, mmap in CASES:
        r = subprocess.run([sys.executable, __file__, "--case", f"{precision},{int(chunked)},{int(ckpt)},{int(mmap)}",
                            "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                            "--length", str(args.length)], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"case {precision} chunked={chunked} ckpt={ckpt} mmap={mmap} failed:\n{r.stderr[-3000:]}")
        row = {"precision": precision, "chunked_loss": chunked, "checkpointing": ckpt, "fixed_mmap_threshold": mmap,
               **json.loads(r.stdout.strip().splitlines()[-1])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\nmicro-batch {args.batch_size} x ~{args.length} tokens, SmolLM2-135M, dynamic padding, {args.steps} steps, {machine}")
    print("| precision | chunked loss | checkpointing | fixed mmap threshold | peak RSS (MB) | real tok/s |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        head = f"| {r['precision']} | {r['chunked_loss']} | {r['checkpointing']} | {r['fixed_mmap_threshold']} |"
        if "skipped" in r:
            print(f"{head} skipped: {r['skipped']} | |")
        else:
            print(f"{head} {r['peak_rss_mb']:.0f} | {r['real_tokens_per_s']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "batch_size": args.batch_size, "length": args.length, "steps": args.steps,
                                         "cases": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
