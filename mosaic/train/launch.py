"""DeepSpeed training as child processes: one per device, started with torchrun, reading the config
frozen into the training stage's work directory (``mosaic.train.worker``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def launch_deepspeed(cfg: dict, work: Path, data: Path) -> tuple[list[dict], int]:
    """Train in ``work`` with ``deepspeed.nproc`` workers; returns (step history, world size)."""
    import torch

    nproc = cfg["deepspeed"]["nproc"]
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc))}
    if not torch.cuda.is_available():
        env["DS_ACCELERATOR"] = "cpu"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "mosaic.train.worker", str(work), str(data)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    (work / "workers.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"DeepSpeed workers failed (exit {r.returncode}); log: {work / 'workers.log'}\n"
                           + r.stderr[-2000:])
    done = json.loads((work / "history.json").read_text())
    return done["history"], done["world_size"]
