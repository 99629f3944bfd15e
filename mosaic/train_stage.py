"""The training stage: a checkpoint and its record, built once per train key.

Data first (the data stage), then the recipe in one process or DeepSpeed workers, in the stage's work
directory (a killed run resumes from its last save there), then the cost record. Every check that can
fail (a sample over ``max_len``, zero optimiser steps) runs before the work directory exists.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .cost.peak import device_peak
from .cost.record import training_cost
from .data.io import file_sha256, write_json
from .data.templates import get_template
from .hardware import describe, host_memory_policy
from .models.build import build_model
from .models.tokenizer import load_tokenizer
from .prepare import compute_match, data_stage
from .probe import make_probe, probe_sets
from .secrets import redact
from .settings import ConfigError
from .stages import Keys, Stage, checkpoint_hash
from .train.batches import plan_steps
from .train.config import TrainConfig, epoch_groups, train_config, with_plan
from .train.features import encode_samples, read_samples
from .train.launch import launch_deepspeed
from .train.progress import StepProgress
from .train.recipe import LOSS_NORMALISATION, train


def train_stage(cfg: dict, root: Path, keys: Keys, force: bool = False) -> dict:
    """The training record of ``keys.train``: read from its finished stage, or trained now (data first)."""
    stage = Stage(root, "train", keys.train)
    if stage.done() and not force:
        return stage_record(stage, cfg, root, trained_now=False)
    t = time.perf_counter()
    data, data_stats = data_stage(cfg, root, keys.data, force)
    tok, template = load_tokenizer(cfg["model"]["tokenizer"]), get_template(cfg["model"]["template"])
    samples = read_samples(data)
    # Encoded here even when DeepSpeed workers encode again: a sample longer than max_len fails now.
    encoded = encode_samples(tok, template, samples, cfg["model"]["max_len"])
    heldout = probe_sets(cfg, tok, template, samples)  # a held-out example in the training data fails now
    plan = compute_match(cfg, root, keys.match, [len(e) for e in encoded], force)
    train_cfg = with_plan(train_config(cfg), plan)
    if not plan_steps([len(e) for e in encoded], train_cfg, epoch_groups(cfg, samples)):
        raise ConfigError(f"training would take zero optimizer steps ({len(samples)} samples, "
                          f"train.batch_size={train_cfg.batch_size}, train.grad_accum={train_cfg.grad_accum})")
    data_s = time.perf_counter() - t
    with stage.claim(fresh=force) as work:
        if stage.done() and not force:  # finished by another process while this one waited for the lock
            return stage_record(stage, cfg, root, trained_now=False)
        write_json(work / "config.json", redact(cfg))
        if plan:
            write_json(work / "compute_match.json", plan)
        record, history = train_in(cfg, work, data, tok, samples, encoded, train_cfg, heldout)
        record.update(data_hash=file_sha256(data), data=data_stats, compute_match=plan, data_key=keys.data,
                      train_key=keys.train, training_hash=keys.train)
        record["phases"]["data_s"] = data_s
        write_json(work / "history.json", {"history": history})
        write_json(work / "record.json", record)
        stage.commit({"data_key": keys.data})
    return stage_record(stage, cfg, root, trained_now=True)


def stage_record(stage: Stage, cfg: dict, root: Path, trained_now: bool) -> dict:
    record = json.loads((stage.final / "record.json").read_text())
    probe = stage.final / "heldout.json"
    record.update(checkpoint=str(stage.final / "checkpoint"), train_dir=str(stage.final),
                  heldout_path=str(probe) if probe.exists() else None, data_dir=str(Stage(root, "data", record["data_key"]).final), trained_now=trained_now,
                  run_dir=str(root / cfg["study"] / cfg["run_name"]), history_path=str(stage.final / "history.json"))
    return record


def train_in(cfg: dict, work: Path, data: Path, tok, samples: list[dict], encoded: list, train_cfg: TrainConfig,
             heldout=None) -> tuple[dict, list[dict]]:
    """Train in the work directory ``work`` (resuming from its last save) and save the checkpoint there."""
    phases: dict[str, float] = {}
    t = time.perf_counter()
    devices = 1
    if cfg["deepspeed"].get("enabled"):
        done = launch_deepspeed(cfg, work, data)  # workers train and save the checkpoint
        hist, devices, attention = done["history"], done["world_size"], done["attn_implementation"]
        host_mmap = done.get("host_mmap_threshold")
        phases["train_s"] = time.perf_counter() - t
        from transformers import AutoConfig  # heavy; only here

        model_config = AutoConfig.from_pretrained(work / "checkpoint")
    else:
        host_mmap = host_memory_policy(train_cfg.device, train_cfg.gradient_checkpointing)
        model = build_model(cfg["model"], len(tok))
        probe = make_probe(cfg, heldout, work, tok.pad_token_id, train_cfg.precision,
                           cache_dir=work.parent.parent / "probe_start")  # <root>/stages/: one start point per study
        phases["model_s"] = time.perf_counter() - t
        t = time.perf_counter()
        groups = epoch_groups(cfg, samples)
        progress = StepProgress(len(plan_steps([len(e) for e in encoded], train_cfg, groups)), cfg["run_name"])
        state = train(model, encoded, train_cfg, tok.pad_token_id, checkpoint=work / "train_state.pt",
                      epoch_groups=groups, probe=probe, on_step=progress)
        hist = state.history
        phases["train_s"] = time.perf_counter() - t
        if probe is not None:
            phases["probe_s"] = sum(p["seconds"] for p in probe.points)
        t = time.perf_counter()
        model.save_pretrained(work / "checkpoint")
        tok.save_pretrained(work / "checkpoint")
        phases["save_s"] = time.perf_counter() - t
        model_config, attention = model.config, model.config._attn_implementation
    # The final checkpoint is saved: resume state (optimizer moments: ~1.6 GB for SmolLM2) is no longer needed.
    (work / "train_state.pt").unlink(missing_ok=True)
    shutil.rmtree(work / "ds_checkpoint", ignore_errors=True)
    where = describe(train_cfg.device)
    peak = device_peak(train_cfg.device, where["device_name"], train_cfg.precision, train_cfg.tf32,
                       cfg.get("peak_flops"))
    record = {"cost": training_cost(hist, model_config, devices, peak), "phases": phases,
              "final_loss": hist[-1]["loss"] if hist else None, "loss_normalisation": LOSS_NORMALISATION,
              "precision": train_cfg.precision, "checkpoint_hash": checkpoint_hash(work / "checkpoint"),
              "placement": {**where, "devices_used": devices, "attn_implementation": attention,
                            "host_mmap_threshold": host_mmap}}
    return record, hist
