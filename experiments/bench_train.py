"""Training benchmark (``make bench``): padding per batching regime and framework overhead.

On SmolLM2-135M (bf16 autocast where the CPU supports it), with N bundled examples and the Mosaic-IT
samples built from the same N examples:
  * padding fraction of every batching regime over a whole epoch's plan (exact: a property of the
    batches, not of timing);
  * real tokens/s of the recipe (``mosaic.train.recipe.train``) for a few steps of each regime;
  * real tokens/s of a bare PyTorch loop (forward with the model's own loss, backward, clip, AdamW
    step) over the very same collated batches, interleaved with the recipe runs, and their ratio.
Targets (issue 3): packed padding < 5%, dynamic (length-grouped) < 15%, recipe >= 80% of the bare loop.
Usage: python experiments/bench_train.py [--examples 96] [--steps 3] [--repeats 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGIMES = ("static_pad", "dynamic", "packed")


def datasets(n: int, max_len: int) -> dict[str, list]:
    """Encoded original examples and encoded Mosaic-IT samples of the same examples."""
    from mosaic.augment.engine import AugmentConfig
    from mosaic.augment.run import augment_file
    from mosaic.data.sources import resolve_examples
    from mosaic.data.templates import get_template
    from mosaic.models.tokenizer import load_tokenizer
    from mosaic.train.features import encode, encode_samples, read_samples

    tok, tpl = load_tokenizer("smollm2"), get_template("vicuna_v1.1")
    original = [encode(tok, tpl, e.prompt, e.output, max_len) for e in resolve_examples(f"bundled@{n}")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mosaic.jsonl"
        augment_file(f"bundled@{n}", out, "smollm2", AugmentConfig(max_tokens=max_len, passes=1), progress=False)
        mosaic = encode_samples(tok, tpl, read_samples(out), max_len)
    return {"original": original, "mosaic": mosaic}


def padding(examples, cfg) -> dict:
    from mosaic.train.batches import plan_steps
    from mosaic.train.recipe import _collate

    real = processed = 0
    for step in plan_steps([len(e) for e in examples], replace(cfg, max_steps=None)):
        for rows in step:
            batch = _collate(examples, rows, cfg, 0)
            processed += batch["input_ids"].numel()
            real += sum(len(examples[i]) for row in rows for i in row)
    return {"real_tokens": real, "processed_tokens": processed, "padding_fraction": 1 - real / processed}


def bare_loop(model, batches, bf16: bool) -> float:
    """The loop any tutorial writes: model loss, backward, clip, step. Returns seconds."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    t0 = time.perf_counter()
    for step in batches:
        for b in step:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(**b).loss
            (loss / len(step)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=96)
    ap.add_argument("--steps", type=int, default=3, help="timed optimiser steps per regime and loop")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved recipe/bare repeats (best kept)")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--max-len", type=int, default=1024)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from transformers import AutoModelForCausalLM

    from mosaic.models.smollm2 import model_dir
    from mosaic.hardware import bf16_supported
    from mosaic.train.batches import plan_steps
    from mosaic.train.config import TrainConfig
    from mosaic.train.recipe import _collate, train

    bf16 = bf16_supported()
    data = datasets(args.examples, args.max_len)
    model = AutoModelForCausalLM.from_pretrained(model_dir(), dtype=torch.float32)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    results: dict = {"model": "SmolLM2-135M-Instruct", "bf16": bf16, "examples": args.examples,
                     "mosaic_samples": len(data["mosaic"]), "batch_size": args.batch_size, "max_len": args.max_len,
                     "steps": args.steps, "runs": []}
    for name, examples in data.items():
        for regime in REGIMES:
            cfg = TrainConfig(regime=regime, max_len=args.max_len, batch_size=args.batch_size, epochs=1,
                              lr=1e-5, warmup_ratio=0.0, bf16=bf16, max_steps=args.steps + 1)
            row = {"data": name, "regime": regime, **padding(examples, cfg)}
            steps = plan_steps([len(e) for e in examples], cfg)[1:]  # step 0 is a warm-up in both loops
            real = sum(len(examples[i]) for s in steps for mb in s for row_ in mb for i in row_)
            recipe_s, bare_s = [], []
            for _ in range(args.repeats):
                model.load_state_dict(initial)
                state = train(model, examples, cfg, 0)
                recipe_s.append(sum(h["seconds"] for h in state.history[1:]))
                if name == "original":
                    model.load_state_dict(initial)
                    batches = [[_collate(examples, rows, cfg, 0) for rows in s] for s in plan_steps([len(e) for e in examples], cfg)]
                    bare_loop(model, batches[:1], bf16)
                    bare_s.append(bare_loop(model, batches[1:], bf16))
            row["recipe_real_tokens_per_s"] = real / min(recipe_s)
            if bare_s:
                row["bare_real_tokens_per_s"] = real / min(bare_s)
                row["recipe_over_bare"] = row["recipe_real_tokens_per_s"] / row["bare_real_tokens_per_s"]
            results["runs"].append(row)
            print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  flush=True)
    print("\n| data | regime | padding | recipe real tok/s | bare real tok/s | recipe/bare |\n|---|---|---|---|---|---|")
    for r in results["runs"]:
        bare = f"{r['bare_real_tokens_per_s']:.0f} | {r['recipe_over_bare']:.2f}" if "recipe_over_bare" in r else "- | -"
        print(f"| {r['data']} | {r['regime']} | {r['padding_fraction']:.1%} | {r['recipe_real_tokens_per_s']:.0f} | {bare} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
