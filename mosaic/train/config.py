"""What the training recipe needs from a run's config, as one frozen dataclass (no Torch import).

:func:`train_config` maps the ``train``/``model`` groups (checked by mosaic/settings.py) onto
:class:`TrainConfig`; :func:`resolved_train_config` adds what a training stage's work directory fixes
(the compute-matching plan), so the single-process recipe and every DeepSpeed worker train with the
same values.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..hardware import resolve_device, resolve_precision


@dataclass(frozen=True)
class TrainConfig:
    regime: str = "dynamic"
    max_len: int = 2048
    batch_size: int = 4
    grad_accum: int = 1
    epochs: int = 1
    lr: float = 2e-5
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    max_grad_norm: float = 1.0
    seed: int = 0
    bf16: bool = False
    fp16: bool = False  # CUDA only: autocast fp16 with a dynamic loss scale (DeepSpeed: its fp16 mode)
    tf32: bool = False  # fp32 matmuls in TF32 on GPUs that have it (train.allow_tf32)
    device: str = "cpu"  # where the single-process recipe trains (mosaic/hardware.py resolves ``device: auto``)
    max_steps: int | None = None  # stop early (smoke tests, cost probes)
    max_real_tokens: int | None = None  # stop at the step that reaches this many real tokens (compute matching)
    save_every: int | None = None  # steps between checkpoints
    gradient_checkpointing: bool = False  # recompute each decoder layer in the backward pass (less memory)
    chunked_loss: bool = True  # the loss from hidden states a chunk at a time (train/loss.py); False: full logits

    @property
    def precision(self) -> str:
        return "fp16" if self.fp16 else "bf16" if self.bf16 else "fp32"


def train_config(cfg: dict) -> TrainConfig:
    tc = cfg["train"]
    device = resolve_device(cfg.get("device", "auto"))
    precision = resolve_precision(tc["precision"], device)
    return TrainConfig(regime=tc["regime"], max_len=cfg["model"]["max_len"], batch_size=tc["batch_size"],
                       grad_accum=tc["grad_accum"], epochs=tc["epochs"], lr=tc["lr"], weight_decay=tc["weight_decay"],
                       warmup_ratio=tc["warmup_ratio"], max_grad_norm=tc["max_grad_norm"], seed=cfg["seed"],
                       bf16=precision == "bf16", fp16=precision == "fp16", tf32=tc.get("allow_tf32", False),
                       max_steps=tc["max_steps"], save_every=tc["save_every"],
                       gradient_checkpointing=tc["gradient_checkpointing"], device=device)


def with_plan(tc: TrainConfig, plan: dict | None) -> TrainConfig:
    """``tc`` trained for a compute-matching plan: enough epochs, stopped at the target real tokens."""
    return replace(tc, epochs=plan["epochs"], max_real_tokens=plan["target_real_tokens"]) if plan else tc


def resolved_train_config(cfg: dict, work: Path) -> TrainConfig:
    """The train config plus what the training directory fixes (the compute-matching plan)."""
    path = work / "compute_match.json"
    plan = json.loads(path.read_text()) if cfg.get("compute_match") and path.exists() else None
    return with_plan(train_config(cfg), plan)


def epoch_groups(cfg: dict, samples: list[dict]) -> list[list[int]] | None:
    """Online Mosaic-IT: the samples of pass e form epoch e (re-mosaicked every epoch). Offline: None,
    every epoch sees the whole file (the passes, shuffled together)."""
    aug = cfg["augmentation"]
    if not (aug.get("enabled") and aug.get("online")):
        return None
    groups: list[list[int]] = [[] for _ in range(aug["passes"])]
    for i, s in enumerate(samples):
        groups[s["provenance"]["pass"]].append(i)
    return groups
