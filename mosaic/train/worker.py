"""A DeepSpeed training process: ``torchrun ... -m mosaic.train.worker WORK_DIR DATA``.

Reads only what the runner froze into the training stage's work directory (``config.json``, the
compute-matching plan) and the data stage's samples, never Hydra's command line; rank 0 writes
``history.json`` and the checkpoint into the work directory.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from ..data.io import write_json
from ..data.templates import get_template
from ..hardware import host_memory_policy
from ..models.build import build_model
from ..models.tokenizer import load_tokenizer
from .config import epoch_groups, resolved_train_config
from .distributed import deepspeed_config, init_distributed, save_hf, train_deepspeed
from .features import encode_samples, read_samples


def main(run_dir: str, data: str) -> None:
    run = Path(run_dir)
    cfg = json.loads((run / "config.json").read_text())
    tok = load_tokenizer(cfg["model"]["tokenizer"])
    samples = read_samples(data)
    encoded = encode_samples(tok, get_template(cfg["model"]["template"]), samples, cfg["model"]["max_len"])
    ds, tc = cfg["deepspeed"], resolved_train_config(cfg, run)
    host_mmap = host_memory_policy(tc.device, tc.gradient_checkpointing)
    init_distributed(tc.device)
    zero3 = deepspeed_config(tc, 3, torch.distributed.get_world_size(), tc.grad_accum, ds["offload_optimizer"],
                             ds["offload_params"]) if ds["stage"] == 3 else None
    model = build_model(cfg["model"], len(tok), zero3=zero3)  # ZeRO-3: created partitioned
    state, engine = train_deepspeed(model, encoded, tc, tok.pad_token_id, stage=ds["stage"],
                                    offload_optimizer=ds["offload_optimizer"], offload_params=ds["offload_params"],
                                    checkpoint=run / "ds_checkpoint", epoch_groups=epoch_groups(cfg, samples))
    save_hf(engine, model, tok, run / "checkpoint")
    if torch.distributed.get_rank() == 0:
        write_json(run / "history.json", {"steps": state.step, "history": state.history,
                                          "world_size": torch.distributed.get_world_size(),
                                          "attn_implementation": model.config._attn_implementation,
                                          "host_mmap_threshold": host_mmap})
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    finish()


def finish() -> None:
    """Leave without running C++ static destructors: on CPU, DeepSpeed's communication threads can abort
    the process at interpreter exit ("terminate called without an active exception", exit -6) after
    all work is done and written. Everything is flushed first."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
