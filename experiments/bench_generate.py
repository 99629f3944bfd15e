"""Generation benchmark (``make bench-generate``): batched vs one-prompt-at-a-time on SmolLM2-135M.

The same prompts (bundled AlpacaEval instructions), the same greedy config, bf16 autocast where the CPU
supports it, no cache (a fresh generator per mode). Reports generated tokens/s of each and their ratio
(target: batched >= 4x) and the machine load: on a shared machine absolute tokens/s move with the
neighbours, the ratio less so.
Usage: python experiments/bench_generate.py [--prompts 32] [--max-new-tokens 64] [--batch-size 16] [--json out]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--no-bf16", action="store_true",
                    help="fp32 even where the CPU supports bf16 (batch-invariant text, slower)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    from evaluation.data import DATA_DIR
    from evaluation.generation import GenerationConfig, Generator
    from mosaic.models.smollm2 import model_dir
    from mosaic.models.tokenizer import load_tokenizer
    from mosaic.hardware import bf16_supported

    rows = json.loads((DATA_DIR / "alpaca_eval" / "eval_set.json").read_text())[:args.prompts]
    convs = [[{"role": "user", "content": r["instruction"]}] for r in rows]
    model = AutoModelForCausalLM.from_pretrained(model_dir(), dtype=torch.float32)
    tok, bf16 = load_tokenizer("smollm2"), bf16_supported() and not args.no_bf16
    result = {"model": "SmolLM2-135M-Instruct", "bf16": bf16, "prompts": len(convs),
              "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size,
              "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "loadavg_before": os.getloadavg()}
    texts = {}
    for name, bs in (("one_at_a_time", 1), ("batched", args.batch_size)):
        # a fresh generator each time, so nothing is served from the in-memory cache
        gen = Generator(model, tok, "chat_template", "bench", bf16=bf16, progress=True)
        t = time.perf_counter()
        out = gen.generate(convs, GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=bs))
        seconds = time.perf_counter() - t
        tokens = sum(c.n_tokens for c in out)
        texts[name] = [c.text for c in out]
        result[name] = {"seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds,
                        "model_calls": gen.model_calls}
        print(f"{name}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.1f} tok/s", flush=True)
    result["speedup"] = result["batched"]["tokens_per_s"] / result["one_at_a_time"]["tokens_per_s"]
    # greedy text is batch-invariant up to float noise (bf16 autocast makes small differences more likely)
    result["identical_outputs"] = sum(a == b for a, b in zip(texts["one_at_a_time"], texts["batched"]))
    result["loadavg_after"] = os.getloadavg()
    print(f"batched / one-at-a-time: {result['speedup']:.2f}x (target >= 4x); identical outputs "
          f"{result['identical_outputs']}/{len(convs)}; load average {result['loadavg_after'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
