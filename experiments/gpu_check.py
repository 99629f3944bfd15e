"""``make gpu-check``: the GPU code paths proven in one short run on one GPU (or two, when visible).

Only PyTorch, Transformers and this project (plus DeepSpeed for the ZeRO checks) are needed: the model
is a tiny random Llama built from a config, the data is synthetic, nothing is downloaded. One line per
check with its figure, a JSON summary in ``--out``; the exit status is non-zero if any check fails.
Without a GPU it says so and exits 0 (``--allow-cpu`` runs the same checks on the CPU with gloo, which
is how the script itself is tested). Checks:
  1. bf16 training on the device (model and batches placed there), first-step loss within bf16
     tolerance of an fp32 CPU reference; tokens/s and peak memory;
  2. packed rows give the loss of the same examples unpacked, under every attention implementation
     available (sdpa, eager; flash_attention_2 in bf16 where flash-attn is installed);
  3. a run stopped after step 3 and resumed from its step-2 checkpoint reaches the same losses;
  4. the chunked loss equals the full-logits loss on the device;
  5. DeepSpeed ZeRO-2 and ZeRO-3 (nccl on GPUs), one process and two if two GPUs are visible: the
     loss curve matches the single-process one;
  6. evaluation on the device: a tiny random checkpoint (SmolLM2's tokenizer) loaded by the evaluation
     context where ``generation.device=auto`` places it, in its precision; batched generation and lm-eval
     (bundled suite, ``HFLM`` on the in-memory model) both run there.
Usage: python experiments/gpu_check.py [--out DIR] [--allow-cpu]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

STEPS = 6


def tiny_model(seed: int = 0, attention: str = "sdpa"):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                        attn_implementation=attention))


def examples(n: int = 48):
    import random

    from mosaic.train.features import IGNORE, Encoded

    rng = random.Random(0)
    out = []
    for _ in range(n):  # arithmetic sequences: learnable in a few steps, so training visibly lowers the loss
        start, stride = rng.randrange(1, 512), rng.randrange(1, 8)
        ids = [(start + k * stride) % 511 + 1 for k in range(rng.randrange(16, 200))]
        out.append(Encoded(ids, [IGNORE] * 8 + ids[8:]))
    return out


def config(device: str, **kw):
    from mosaic.train.config import TrainConfig

    return TrainConfig(**{"regime": "dynamic", "max_len": 512, "batch_size": 4, "grad_accum": 2, "epochs": 1,
                          "lr": 3e-3, "warmup_ratio": 0.0, "max_steps": STEPS, "device": device, **kw})


def peak_memory(device: str) -> str:
    import resource

    import torch

    if device == "cuda":
        return f"{torch.cuda.max_memory_allocated() / 2**20:.0f} MiB allocated"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB RSS"


def check_bf16_training(device: str) -> str:
    from mosaic.train.recipe import train

    reference = train(tiny_model(), examples(), config("cpu", max_steps=1), pad_id=0).history[0]["loss"]
    t = time.perf_counter()
    hist = train(tiny_model(), examples(), config(device, bf16=True), pad_id=0).history
    seconds = time.perf_counter() - t
    tokens = sum(h["real_tokens"] for h in hist)
    assert abs(hist[0]["loss"] - reference) < 0.05 * reference, (hist[0]["loss"], reference)
    assert hist[-1]["loss"] < hist[0]["loss"], "bf16 training did not lower the loss"
    return (f"first-step loss {hist[0]['loss']:.4f} vs fp32 CPU {reference:.4f}; {tokens / seconds:.0f} real tok/s; "
            f"peak {peak_memory(device)}")


def check_packed_equals_unpacked(device: str) -> str:
    import torch

    from mosaic.hardware import ATTENTION, attention_available
    from mosaic.train.collate import packed_batch, pad_batch
    from mosaic.train.recipe import _loss_sum, to_device

    data, figures = examples(6), []
    for attention in [a for a in ATTENTION if attention_available(a, device)]:
        model = tiny_model(attention=attention).to(device)
        precision, tol = ("bf16", 2e-2) if attention == "flash_attention_2" else ("fp32", 1e-4)  # FA2: 16-bit only
        with torch.no_grad():
            packed = _loss_sum(model, to_device(packed_batch([data[:3], data[3:]], 0), device), precision).item()
            alone = sum(_loss_sum(model, to_device(pad_batch([e], 0), device), precision).item() for e in data)
        assert abs(packed - alone) < tol * abs(alone), (attention, packed, alone)
        figures.append(f"{attention} ({precision}) packed {packed:.4f} vs one by one {alone:.4f}")
    return "; ".join(figures)


def check_resume(device: str, tmp: Path) -> str:
    from mosaic.train.recipe import train

    cfg = config(device, save_every=2)
    full = [h["loss"] for h in train(tiny_model(), examples(), cfg, pad_id=0).history]

    class Stop(Exception):
        pass

    def stop(record):
        if record["step"] == 3:
            raise Stop

    ckpt = tmp / "resume.pt"
    ckpt.unlink(missing_ok=True)  # from an earlier check
    try:
        train(tiny_model(), examples(), cfg, pad_id=0, checkpoint=ckpt, on_step=stop)
    except Stop:
        pass
    resumed = train(tiny_model(1), examples(), cfg, pad_id=0, checkpoint=ckpt).history  # weights come from the file
    again = [h["loss"] for h in resumed]  # the history restored from the checkpoint, then steps 3..STEPS
    diff = max(abs(a - b) for a, b in zip(again, full))
    assert len(again) == STEPS and diff < 1e-5, (again, full)
    return f"stopped after step 3, resumed from step 2: all {STEPS} losses match the uninterrupted run ({diff:.1e})"


def check_chunked_loss(device: str) -> str:
    import torch

    from mosaic.train.collate import pad_batch
    from mosaic.train.recipe import _loss_sum, to_device

    model, batch = tiny_model().to(device), to_device(pad_batch(examples(8), 0), device)
    with torch.no_grad():
        full, chunked = (_loss_sum(model, batch, "fp32", chunked=c).item() for c in (False, True))
    assert abs(full - chunked) < 1e-5 * abs(full), (full, chunked)
    return f"chunked {chunked:.5f} vs full logits {full:.5f}"


def check_evaluation(device: str, tmp: Path) -> str:
    import torch

    from evaluation.adapters import get_adapter
    from evaluation.context import EvalContext, placement
    from mosaic.models.tokenizer import load_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = load_tokenizer("smollm2")
    torch.manual_seed(0)
    net = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                       max_position_embeddings=2048))
    ckpt = tmp / "tiny_eval_checkpoint"
    net.save_pretrained(ckpt)
    tok.save_pretrained(ckpt)
    where = placement({"device": device}, {})
    judge_cfg = {"kind": "local", "model": str(ckpt), "template": "vicuna_v1.1", "max_tokens": 8, "batch_size": 4}
    ctx = EvalContext(checkpoint=ckpt, template="vicuna_v1.1", out_dir=tmp / "tiny_eval", model_id="tiny",
                      generation={"batch_size": 4}, judge_cfg=judge_cfg, **where)
    texts = ctx.generate([[{"role": "user", "content": f"Count to {i}."}] for i in range(6)], max_new_tokens=8)
    placed = next(ctx.model.parameters())
    assert placed.device.type == device and len(texts) == 6, (placed.device, len(texts))
    metrics = get_adapter("lm_eval")(ctx, {"suite": "bundled", "batch_size": 8}).metrics
    average = metrics["lm_eval/average"]
    assert 0.0 <= average <= 1.0, metrics
    from evaluation.judges import complete_all

    judged = complete_all(ctx.judge, [[{"role": "user", "content": f"Rate answer {i}."}] for i in range(4)],
                          max_tokens=8)
    judge_at = next(ctx.judge.generator.model.parameters())
    assert judge_at.device.type == device and len(judged) == 4, (judge_at.device, len(judged))
    from mosaic.stages import eval_settings

    keyed = eval_settings({"generation": {"device": device}, "train": {}, "model": {"template": "vicuna_v1.1"},
                           "seed": 0}).get("placement")
    assert (keyed is not None) == (device != "cpu"), keyed  # a GPU evaluation never reuses a CPU one's stage
    return (f"model on {placed.device} in {str(placed.dtype).removeprefix('torch.')}; 6 generations; "
            f"lm-eval bundled average {average:.3f} over {len(metrics)} metrics; local judge on {judge_at.device} "
            f"in {str(judge_at.dtype).removeprefix('torch.')}, 4 judgments")


def check_zero(device: str, stage: int, nproc: int, tmp: Path) -> str:
    from mosaic.train.recipe import train

    single = [h["loss"] for h in train(tiny_model(), examples(), config(device), pad_id=0).history]
    out = tmp / f"zero{stage}_{nproc}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), __file__,
           "--zero-worker", str(stage), "--device", device, "--out", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(out.read_text())
    diff = max(abs(a - b) for a, b in zip(got["losses"], single))
    assert len(got["losses"]) == len(single) and diff < 1e-3, (got["losses"], single)
    return f"{nproc} process(es), {got['backend']}: loss curve matches one process (max diff {diff:.1e})"


def zero_worker(stage: int, device: str, out: Path) -> None:
    import torch

    from mosaic.train.distributed import train_deepspeed

    cfg = config(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    from dataclasses import replace

    cfg = replace(cfg, grad_accum=cfg.grad_accum // world if cfg.grad_accum % world == 0 else cfg.grad_accum)
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    state, _ = train_deepspeed(tiny_model(), examples(), cfg, 0, stage=stage)
    if torch.distributed.get_rank() == 0:
        out.write_text(json.dumps({"losses": [h["loss"] for h in state.history],
                                   "backend": torch.distributed.get_backend()}))
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("outputs/gpu-check"))
    ap.add_argument("--allow-cpu", action="store_true", help="run the checks on the CPU when no GPU is visible")
    ap.add_argument("--zero-worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--device", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.zero_worker:
        zero_worker(args.zero_worker, args.device, args.out)
        return 0
    import torch

    from mosaic.hardware import describe, resolve_device

    device = resolve_device("auto")
    if device != "cuda" and not args.allow_cpu:
        print("gpu-check: no CUDA device visible; nothing was run (use --allow-cpu to run the checks on the CPU)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    info = describe(device)
    print(f"gpu-check on {info['device_name']} x{info['device_count']} ({device}), torch {torch.__version__}", flush=True)
    checks = [("bf16 training on the device", lambda: check_bf16_training(device)),
              ("packed rows equal unpacked", lambda: check_packed_equals_unpacked(device)),
              ("chunked loss equals full logits", lambda: check_chunked_loss(device)),
              ("kill and resume", lambda: check_resume(device, args.out)),
              ("generation and lm-eval on the device", lambda: check_evaluation(device, args.out))]
    try:
        import deepspeed  # noqa: F401
        for stage in (2, 3):
            for nproc in sorted({1, min(2, info["device_count"] if device == "cuda" else 2)}):
                checks.append((f"ZeRO-{stage} x{nproc}", lambda s=stage, n=nproc: check_zero(device, s, n, args.out)))
    except ImportError:
        checks.append(("ZeRO-2/3", lambda: (_ for _ in ()).throw(RuntimeError("deepspeed is not importable"))))
    results, failed = [], 0
    for name, fn in checks:
        t = time.perf_counter()
        try:
            figure, ok = fn(), True
        except Exception as e:  # every check runs; the summary says which failed
            figure, ok = f"{type(e).__name__}: {str(e)[:500]}", False
            failed += 1
        results.append({"check": name, "ok": ok, "figure": figure, "seconds": round(time.perf_counter() - t, 1)})
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {figure} ({results[-1]['seconds']}s)", flush=True)
    (args.out / "gpu_check.json").write_text(json.dumps({"device": info, "results": results}, indent=2) + "\n")
    print(f"gpu-check: {len(checks) - failed}/{len(checks)} passed; {args.out / 'gpu_check.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
