"""The training recipe, top to bottom: one process, plain PyTorch (``distributed.py`` runs the same
steps under DeepSpeed).

Per optimiser step, ``grad_accum`` micro-batches are run; the loss is the sum of token losses over
all of them divided by the number of loss tokens in the step ("per-token" normalisation, so a
micro-batch with more response tokens weighs more, exactly as one big batch would). A checkpoint
holds the model, optimiser, scheduler and the position in the data; a resumed run continues with
the same batches and reaches the same weights.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..hardware import allow_tf32, autocast
from .batches import plan_steps
from .collate import packed_batch, pad_batch
from .config import TrainConfig
from .features import IGNORE, Encoded
from .loss import chunked_loss_sum, full_loss_sum

LOSS_NORMALISATION = "per_token_across_accumulation"


@dataclass
class TrainState:
    step: int = 0
    history: list[dict] = field(default_factory=list)


def _loss_sum(model, batch: dict, precision: str, chunked: bool = True) -> torch.Tensor:
    """Sum of next-token losses over labelled positions. ``model`` may be a DeepSpeed engine (its forward
    runs, so ZeRO's hooks do); with ``chunked`` the logits are never built for the whole batch."""
    # use_cache=False: with a KV cache, Transformers stops reading restarting position ids as packed
    # examples, and packed rows would attend across examples (tests/train/test_collate.py).
    inputs = {**{k: v for k, v in batch.items() if k != "labels"}, "use_cache": False}
    device = batch["input_ids"].device.type
    with autocast(device, precision):
        if not chunked:
            return full_loss_sum(model(**inputs).logits, batch["labels"])
        out = model(**inputs, output_hidden_states=True, logits_to_keep=1)
    head = getattr(model, "module", model).get_output_embeddings()
    return chunked_loss_sum(out.hidden_states[-1], head, batch["labels"], precision)


def prepare_model(model, cfg: TrainConfig):
    """Training-time switches on the model itself: activation checkpointing of the decoder layers."""
    if cfg.gradient_checkpointing:
        enable = getattr(model, "activation_checkpointing_enable", None)  # Transformers >= 5.2's name
        if enable is not None:
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False  # no KV cache while training (checkpointing requires it off)
    return model


def restore_model(model, use_cache: bool) -> None:
    """After training: the saved config keeps the model's own ``use_cache`` (generation reads it)."""
    model.config.use_cache = use_cache


def loss_tokens(batches: Sequence[dict]) -> int:
    """Positions whose next token is a target, over all micro-batches of a step."""
    return sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in batches)


def step_record(step: int, loss: float, n_loss: int, grad_norm: float, lr: float, rows_of_step, batches,
                examples: Sequence[Encoded], seconds: float) -> dict:
    """What one optimiser step did: the loss curve point and the token/sequence counts costs are built from."""
    lengths = [len(examples[i]) for rows in rows_of_step for row in rows for i in row]
    return {"step": step, "loss": loss, "loss_tokens": n_loss, "grad_norm": grad_norm, "lr": lr,
            "processed_tokens": sum(b["input_ids"].numel() for b in batches), "real_tokens": sum(lengths),
            "sequences": sum(len(rows) for rows in rows_of_step), "examples": len(lengths),
            "causal_pairs": sum(n * (n + 1) // 2 for n in lengths), "seconds": seconds}


def accumulate(model, batches: Sequence[dict], precision: str = "fp32", chunked: bool = True,
               scaler=None) -> tuple[float, int]:
    """Backward over the micro-batches of one step, each scaled by the step's total loss tokens (and by
    ``scaler``'s loss scale in fp16). Returns (mean loss per token, loss tokens). Gradients equal those
    of one batch holding all rows.
    """
    n_loss = loss_tokens(batches)
    total = 0.0
    for b in batches:
        loss_sum = _loss_sum(model, b, precision, chunked)
        (scaler.scale(loss_sum / n_loss) if scaler is not None else loss_sum / n_loss).backward()
        total += loss_sum.item()
    return total / n_loss, n_loss


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _collate(examples: Sequence[Encoded], rows: list[list[int]], cfg: TrainConfig, pad_id: int) -> dict:
    if cfg.regime == "packed":
        return packed_batch([[examples[i] for i in r] for r in rows], pad_id)
    pad_to = cfg.max_len if cfg.regime == "static_pad" else None
    return pad_batch([examples[r[0]] for r in rows], pad_id, pad_to=pad_to)


def _schedule(total: int, warmup_ratio: float) -> Callable[[int], float]:
    warm = max(1, math.ceil(total * warmup_ratio))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))
    return factor


def _save(path: Path, model, optimizer, scheduler, scaler, state: TrainState, cfg: TrainConfig) -> None:
    # a unique name (the next run removes one a kill left behind: mosaic/stages.py DEBRIS_FILES)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "state": asdict(state), "config": asdict(cfg)}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def train(model, examples: Sequence[Encoded], cfg: TrainConfig, pad_id: int, checkpoint: Path | None = None,
          on_step: Callable[[dict], None] | None = None,
          epoch_groups: Sequence[Sequence[int]] | None = None, probe=None) -> TrainState:
    """Train ``model`` on ``examples``; ``probe`` (a :class:`~mosaic.train.heldout.HeldoutProbe`) measures
    held-out losses before the first step, at its milestones and at the end, outside the timed steps."""
    torch.manual_seed(cfg.seed)
    use_cache = model.config.use_cache
    prepare_model(model, cfg).to(cfg.device)
    allow_tf32(cfg.device, cfg.tf32)
    steps = plan_steps([len(e) for e in examples], cfg, epoch_groups)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(len(steps), cfg.warmup_ratio))
    scaler = torch.amp.GradScaler(cfg.device, enabled=cfg.fp16)  # a pass-through unless fp16
    state = TrainState()
    if checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["config"] != asdict(cfg):
            raise ValueError(f"checkpoint {checkpoint} was written with another config; refusing to resume")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved.get("scaler") or {})
        state = TrainState(**saved["state"])
    model.train()
    if probe is not None:
        probe.start(model, state.history)
    for s in range(state.step, len(steps)):
        t0 = time.perf_counter()
        batches = [to_device(_collate(examples, rows, cfg, pad_id), cfg.device) for rows in steps[s]]
        loss, n_loss = accumulate(model, batches, cfg.precision, cfg.chunked_loss, scaler)
        scaler.unscale_(optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        scaler.step(optimizer)  # fp16: skipped when the gradients overflowed
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        record = step_record(s + 1, loss, n_loss, float(grad_norm), scheduler.get_last_lr()[0], steps[s], batches,
                             examples, time.perf_counter() - t0)
        state.step = s + 1
        state.history.append(record)
        if on_step:
            on_step(record)
        if probe is not None:
            probe.step(model, record)
        if checkpoint is not None and cfg.save_every and state.step % cfg.save_every == 0:
            _save(checkpoint, model, optimizer, scheduler, scaler, state, cfg)
    if probe is not None:
        probe.end(model, state.history)
    restore_model(model, use_cache)
    return state
