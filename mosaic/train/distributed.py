"""The recipe under DeepSpeed ZeRO (stage 2 or 3), one process per device, started by torchrun.

The global plan of optimiser steps is the single-process one (``plan_steps``); the micro-batches of
a step are dealt to ranks round-robin, so N ranks with ``grad_accum = a`` see exactly the batches one
process sees with ``grad_accum = a * N``. Each rank scales its token-loss sum by ``world / tokens in
the whole step``; DeepSpeed averages gradients over ranks, which gives the per-token mean of the
step, as in the single-process recipe (tested: the loss curves agree).

On CPU: ``DS_ACCELERATOR=cpu`` and the gloo backend; torchrun must be used (DeepSpeed's own launcher
binds cores with numactl). The same code runs on GPUs with the nccl backend.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Sequence

import torch

from .features import Encoded
from ..hardware import dist_backend, ds_accelerator, resolve_device
from .batches import plan_steps
from .config import TrainConfig
from .recipe import (TrainState, _collate, _loss_sum, _schedule, loss_tokens, prepare_model, restore_model,
                     step_record, to_device)


def init_distributed(device: str) -> None:
    """The process group for ``device`` (nccl on GPUs, gloo on CPUs), once; DeepSpeed told which accelerator."""
    os.environ.setdefault("DS_ACCELERATOR", ds_accelerator(resolve_device(device)))
    import deepspeed

    if not torch.distributed.is_initialized():
        deepspeed.init_distributed(dist_backend=dist_backend(resolve_device(device)))


def deepspeed_config(cfg: TrainConfig, stage: int, world: int, micro_per_rank: int,
                     offload_optimizer: bool = False, offload_params: bool = False) -> dict:
    zero: dict = {"stage": stage}
    if offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu"}
    if offload_params and stage == 3:
        zero["offload_param"] = {"device": "cpu"}
    return {"train_micro_batch_size_per_gpu": cfg.batch_size, "gradient_accumulation_steps": micro_per_rank,
            "train_batch_size": cfg.batch_size * micro_per_rank * world, "gradient_clipping": cfg.max_grad_norm,
            "bf16": {"enabled": cfg.bf16}, "fp16": {"enabled": cfg.fp16, "loss_scale": 0},  # 0: dynamic
            "zero_optimization": zero}


def _resume(engine, checkpoint: Path, cfg: TrainConfig) -> TrainState:
    """Load the newest DeepSpeed checkpoint in ``checkpoint`` (all ranks), or start fresh."""
    if not (checkpoint / "latest").exists():
        return TrainState()
    _, client = engine.load_checkpoint(str(checkpoint))
    if client is None or client.get("config") != asdict(cfg):
        raise ValueError(f"DeepSpeed checkpoint {checkpoint} was written with another config; refusing to resume")
    return TrainState(**client["state"])


def train_deepspeed(model, examples: Sequence[Encoded], cfg: TrainConfig, pad_id: int, stage: int,
                    offload_optimizer: bool = False, offload_params: bool = False, checkpoint: Path | None = None,
                    on_step: Callable[[dict], None] | None = None,
                    epoch_groups: Sequence[Sequence[int]] | None = None) -> tuple[TrainState, object]:
    """Train; returns the state (history identical on every rank) and the DeepSpeed engine.

    With ``checkpoint`` (a directory), every ``save_every`` steps all ranks write a DeepSpeed checkpoint
    (sharded model, optimiser and scheduler state plus the position in the plan); a restarted run
    loads the newest one and continues with the same batches.
    """
    import deepspeed

    init_distributed(cfg.device)
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    per_rank = cfg.grad_accum
    micro_per_step = per_rank * world
    steps = plan_steps([len(e) for e in examples], replace(cfg, grad_accum=micro_per_step), epoch_groups)
    use_cache = model.config.use_cache
    prepare_model(model, cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(len(steps), cfg.warmup_ratio))
    engine, _, _, scheduler = deepspeed.initialize(model=model, optimizer=optimizer, lr_scheduler=scheduler,
                                                   config=deepspeed_config(cfg, stage, world, per_rank,
                                                                           offload_optimizer, offload_params))
    state = _resume(engine, checkpoint, cfg) if checkpoint is not None else TrainState()
    for s in range(state.step, len(steps)):
        step = steps[s]
        if len(step) != micro_per_step:
            break  # a ragged last step cannot be dealt evenly; dropped (reported by the step count)
        t0 = time.perf_counter()
        batches = [to_device(_collate(examples, rows, cfg, pad_id), engine.device) for rows in step]
        n_loss = loss_tokens(batches)
        total = torch.zeros((), device=engine.device)
        for b in batches[rank::world]:
            loss_sum = _loss_sum(engine, b, cfg.precision, cfg.chunked_loss)
            engine.backward(loss_sum * world / n_loss, scale_wrt_gas=False)
            engine.step()
            total += loss_sum.detach().float()
        torch.distributed.all_reduce(total)
        record = step_record(s + 1, total.item() / n_loss, n_loss, float(engine.get_global_grad_norm() or 0.0),
                             scheduler.get_last_lr()[0], step, batches, examples, time.perf_counter() - t0)
        state.step = s + 1
        state.history.append(record)
        if on_step:
            on_step(record)
        if checkpoint is not None and cfg.save_every and state.step % cfg.save_every == 0:
            _save(engine, checkpoint, state, cfg)
    restore_model(model, use_cache)
    return state, engine


def _save(engine, checkpoint: Path, state: TrainState, cfg: TrainConfig) -> None:
    """All ranks write their shards; DeepSpeed updates ``latest`` last, so a kill mid-save resumes from
    the previous tag, which is removed only once the new one is complete."""
    import shutil

    tag = f"step{state.step}"
    engine.save_checkpoint(str(checkpoint), tag=tag, client_state={"state": asdict(state), "config": asdict(cfg)})
    torch.distributed.barrier()
    if torch.distributed.get_rank() == 0:
        for old in checkpoint.glob("step*"):
            if old.name != tag and old.is_dir():
                shutil.rmtree(old)


def save_hf(engine, model, tok, directory) -> None:
    """A plain Transformers checkpoint on rank 0 (ZeRO-3 parameters are gathered first)."""
    import deepspeed

    rank = torch.distributed.get_rank()
    with deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=None):
        if rank == 0:
            model.save_pretrained(directory)
            tok.save_pretrained(directory)
    torch.distributed.barrier()
