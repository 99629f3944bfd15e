"""The ``mosaic`` command. ``mosaic augment --help`` documents every option."""
from __future__ import annotations

import argparse
import sys

from .augment.budget import TokenCounter
from .augment.counts import WRAP_MODES
from .augment.engine import AugmentConfig
from .augment.run import augment_file
from .augment.strategies import MIXES, STRATEGIES
from .cost.compare import mosaic_pairs, template_lengths, to_markdown
from .cost.flops import ModelShape
from .cost.study import Timing, cost_study
from .data.errors import DataError
from .data.io import write_json
from .data.loaders import FORMATS, MULTI_TURN
from .data.sources import SPECS, resolve_examples
from .data.templates import TEMPLATES, get_template
from .hardware import bf16_supported
from .models import smollm2
from .models.build import build_model
from .models.tokenizer import load_counting_tokenizer, load_tokenizer
from .train.features import encode_samples, read_samples

EPILOG = """examples:
  mosaic augment --input bundled --output out/mosaic.jsonl
  mosaic augment --input alpaca_gpt4_data.json --output mosaic.jsonl --tokenizer /models/llama-2-7b \\
      --strategy all --wrap-mode uniform --max-count 10 --max-tokens 2000 --passes 4 --seed 0
  mosaic augment --input data.jsonl --output m.jsonl --strategy format=1,maskout=2 --on-error skip

Writes OUT.jsonl (one sample per line, Alpaca fields plus count, n_tokens and provenance),
OUT.summary.json, and OUT.over_budget.jsonl when some rows cannot fit the budget alone."""


def _augment_parser(sub) -> argparse.ArgumentParser:
    d = AugmentConfig()  # the paper's defaults, in one place
    p = sub.add_parser("augment", help="build Mosaic-IT samples from instruction data",
                       description="Concatenate instruction/response pairs into Mosaic-IT samples "
                       "(Li et al., arXiv 2405.13326), seeded and within a token budget.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help=f"input data: one of {', '.join(SPECS)}")
    p.add_argument("--output", required=True, help="output JSONL path (written atomically)")
    p.add_argument("--format", default="auto", choices=FORMATS,
                   help="input format; 'auto' decides from the first row (default: auto)")
    p.add_argument("--tokenizer", default="smollm2",
                   help="tokenizer that measures the budget: a local directory, a Hub id (needs network), "
                   "or 'smollm2' (bundled SmolLM2-135M-Instruct; default)")
    p.add_argument("--template", default=d.template, choices=TEMPLATES,
                   help="training prompt format whose overhead counts against the budget; 'raw' counts "
                   f"instruction+output only, like the released code (default: {d.template})")
    p.add_argument("--strategy", default=d.strategy,
                   help=f"a mix {sorted(MIXES)}, a strategy {sorted(STRATEGIES)}, or weights such as "
                   f"'format=1,permute=1' (default: {d.strategy}; all = format / +permute / +maskout, equal odds)")
    p.add_argument("--wrap-mode", default=d.wrap_mode, choices=sorted(WRAP_MODES),
                   help=f"distribution of instructions per sample before the budget (default: {d.wrap_mode})")
    p.add_argument("--max-count", type=int, default=d.max_count,
                   help=f"max instructions per sample (default: {d.max_count})")
    p.add_argument("--max-tokens", type=int, default=d.max_tokens,
                   help=f"token budget per sample, template included (default: {d.max_tokens})")
    p.add_argument("--passes", type=int, default=d.passes,
                   help=f"independent shuffled mosaic passes over the data (released epo_num; default: {d.passes})")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed; same seed and input give the same bytes")
    p.add_argument("--vocabulary", default=d.vocabulary, choices=("train", "heldout"),
                   help="draw meta-instruction phrasings and tag styles from the training set or the "
                   f"held-out set reserved for evaluation (default: {d.vocabulary})")
    p.add_argument("--on-error", default="raise", choices=("raise", "skip"),
                   help="bad rows: stop with an error naming file/row/field, or skip, count and report them")
    p.add_argument("--multi-turn", default="first", choices=MULTI_TURN,
                   help="chats with several exchanges: keep the first, split all, or refuse (default: first)")
    p.add_argument("--exact-margin", type=int, default=d.exact_margin,
                   help="count a sample exactly when its estimated length is within this many tokens under "
                   f"the budget (default: {d.exact_margin}; the estimate's largest error is reported in the summary)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes building passes in parallel (default: one per pass up to the CPU count, "
                   "1 for small inputs); the output bytes do not depend on it")
    p.add_argument("--workdir", default=None, help="directory for the temporary row store (default: system temp)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _cost_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("cost", help="compare the training cost of original data and a mosaic file",
                       description="Sequences, steps, real and processed tokens and FLOPs of training on the "
                       "original data vs a Mosaic-IT file, under static padding (the paper's FastChat setup), "
                       "dynamic padding and packing. Token lengths use the training template.")
    p.add_argument("--original", required=True, help="original data (same specs as `mosaic augment --input`)")
    p.add_argument("--mosaic", required=True, help="a JSONL written by `mosaic augment`")
    p.add_argument("--epochs", type=int, default=3, help="epochs over the original data (default: 3)")
    p.add_argument("--mosaic-epochs", type=int, default=1,
                   help="epochs over the mosaic file, which already holds its passes (default: 1)")
    p.add_argument("--max-len", type=int, default=2048, help="training sequence length (default: 2048)")
    p.add_argument("--batch-size", type=int, default=8, help="micro-batch size per device (default: 8)")
    p.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps (default: 1)")
    p.add_argument("--tokenizer", default="smollm2", help="tokenizer (default: smollm2)")
    p.add_argument("--template", default="vicuna_v1.1", choices=TEMPLATES, help="training prompt format")
    p.add_argument("--no-group-by-length", action="store_true", help="dynamic padding without length grouping")
    p.add_argument("--measure-steps", type=int, default=0,
                   help="also time this many real training steps of SmolLM2-135M per variant and regime "
                   "(after one warm-up step) and estimate wall time and device-hours (default: 0, plan only)")
    p.add_argument("--json", default=None, help="also write the table and ratios to this JSON file")
    return p


def _cost(args) -> int:
    counter = TokenCounter(load_counting_tokenizer(args.tokenizer), get_template(args.template))
    original = template_lengths(((e.prompt, e.output) for e in resolve_examples(args.original)), counter)
    mosaic = template_lengths(mosaic_pairs(args.mosaic), counter)
    result = cost_study(original, mosaic, epochs=args.epochs, mosaic_epochs=args.mosaic_epochs, max_len=args.max_len,
                        batch_size=args.batch_size, grad_accum=args.grad_accum,
                        shape=ModelShape.from_config(smollm2.CONFIG), group_by_length=not args.no_group_by_length,
                        timing=_timing(args) if args.measure_steps else None,
                        describe={"original": args.original, "mosaic": args.mosaic, "model": smollm2.NAME,
                                  "template": args.template})
    print(to_markdown(result))
    if args.json:
        write_json(args.json, result)
    return 0


def _timing(args):
    """SmolLM2-135M and enough examples of each variant for ``--measure-steps`` real steps per regime."""
    tok, tpl = load_tokenizer(args.tokenizer), get_template(args.template)
    need = (args.measure_steps + 1) * args.batch_size * 8  # enough rows for packed batches too
    rows = ({"instruction": e.prompt, "output": e.output} for _, e in zip(range(need), resolve_examples(args.original)))
    examples = {"original": encode_samples(tok, tpl, rows, args.max_len),
                "mosaic": encode_samples(tok, tpl, read_samples(args.mosaic, need), args.max_len)}
    bf16 = bf16_supported()
    print(f"timing {args.measure_steps} steps x 3 regimes x 2 variants on SmolLM2-135M "
          f"({'bf16' if bf16 else 'fp32'}) ...", file=sys.stderr)
    model = build_model({"source": "smollm2", "max_len": args.max_len}, len(tok))
    return Timing(model, examples, args.measure_steps, args.batch_size, bf16, tok.pad_token_id)


def _print_summary(s: dict) -> None:
    c, t = s["count"], s["tokens"]
    lines = [
        f"rows in          {s['rows_in']}  (skipped: {s['rows_skipped']}, over budget: {s['over_budget']})",
        f"samples out      {s['samples']}  over {len(s['samples_per_pass'])} passes "
        f"({', '.join(str(v) for v in s['samples_per_pass'].values())})",
        f"instructions     mean {c['mean']:.2f}  p50 {c['p50']:.0f}  p90 {c['p90']:.0f}  max {c['max']}",
        f"tokens/sample    mean {t['mean']:.0f}  p50 {t['p50']:.0f}  p90 {t['p90']:.0f}  max {t['max']}"
        f"  (budget {s['config']['max_tokens']}, template overhead {s['template_overhead_tokens']})",
        "token histogram  " + "  ".join(f"{k}:{v}" for k, v in t["histogram"].items()),
        "strategies       " + "  ".join(f"{k}:{v}" for k, v in s["strategies"].items()),
        f"output           {s['output']}  sha256 {s['output_sha256'][:16]}  ({s['timings']['total_s']:.1f}s)",
    ]
    checks = s["budget_checks"]
    if checks["max_underestimate"] * 2 >= s["config"]["exact_margin"] or checks["bound_fallbacks"]:
        lines.append(f"WARNING          the length estimate erred by up to {checks['max_underestimate']} tokens; "
                     "re-run with a larger --exact-margin to keep the budget guarantee")
    if s["over_budget"]:
        lines.append(f"over budget      {s['over_budget']} rows listed in {s['over_budget_file']}")
    if s["rows_skipped"]:
        lines.append("skipped          " + "; ".join(s["skipped"][:3]))
    print("\n".join(lines), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mosaic", description="Mosaic-IT research suite",
                                     epilog="mosaic eval --help: evaluate any model or existing outputs "
                                            "(evaluation/cli.py)")
    sub = parser.add_subparsers(dest="command", required=True)
    _augment_parser(sub)
    _cost_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "cost":
        try:
            return _cost(args)
        except (DataError, ValueError, FileNotFoundError, RuntimeError) as e:
            print(f"mosaic cost: error: {e}", file=sys.stderr)
            return 2
    if args.command == "augment":
        try:
            config = AugmentConfig(strategy=args.strategy, wrap_mode=args.wrap_mode, max_count=args.max_count,
                                   max_tokens=args.max_tokens, passes=args.passes, seed=args.seed,
                                   template=args.template, vocabulary=args.vocabulary,
                                   exact_margin=args.exact_margin)
            summary = augment_file(args.input, args.output, args.tokenizer, config, fmt=args.format,
                                   on_error=args.on_error, multi_turn=args.multi_turn, workdir=args.workdir,
                                   workers=args.workers, progress=not args.quiet)
        except (DataError, ValueError, FileNotFoundError, RuntimeError) as e:
            print(f"mosaic augment: error: {e}", file=sys.stderr)
            return 2
        _print_summary(summary)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
