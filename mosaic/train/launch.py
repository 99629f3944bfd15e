"""DeepSpeed training as child processes: one per device, started with torchrun, reading the config
frozen into the training stage's work directory (``mosaic.train.worker``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..hardware import ds_accelerator, resolve_device


def launch_deepspeed(cfg: dict, work: Path, data: Path) -> dict:
    """Train in ``work`` with ``deepspeed.nproc`` workers; returns what rank 0 wrote: ``history`` (the step
    records), ``world_size``, ``attn_implementation``."""
    nproc = cfg["deepspeed"]["nproc"]
    device = resolve_device(cfg.get("device", "auto"))
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc)),
           "DS_ACCELERATOR": ds_accelerator(device)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "mosaic.train.worker", str(work), str(data)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    (work / "workers.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"DeepSpeed workers failed (exit {r.returncode}); log: {work / 'workers.log'}\n"
                           + r.stderr[-2000:])
    return json.loads((work / "history.json").read_text())
