"""DeepSpeed training as child processes: one per device, started with torchrun, reading the config
frozen into the training stage's work directory (``mosaic.train.worker``)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from ..hardware import ds_accelerator, resolve_device, visible_devices

RDZV_PORT = 29500


def worker_count(nproc, device: str) -> int:
    """``deepspeed.nproc``: a number, or ``auto`` = one worker per visible GPU (1 on a CPU)."""
    return visible_devices(device) if nproc == "auto" else int(nproc)


def torchrun_command(nproc: int, work: Path, data: Path, env: dict, host: str) -> list[str]:
    """The worker launch. One node: ``torchrun --standalone``. Inside a SLURM allocation of N > 1 nodes
    (``SLURM_JOB_NUM_NODES``), ``srun --overlap`` starts one torchrun per node (inside the job step the
    runner is in); they meet at a c10d rendezvous on ``host`` (the runner's node), keyed by the job id,
    and torchrun numbers nodes and ranks."""
    worker = ["-m", "mosaic.train.worker", str(work), str(data)]
    nodes = int(env.get("SLURM_JOB_NUM_NODES", "1") or 1)
    if nodes <= 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *worker]
    return ["srun", "--overlap", "--nodes", str(nodes), "--ntasks-per-node", "1", "--kill-on-bad-exit=1",
            sys.executable, "-m", "torch.distributed.run", "--nnodes", str(nodes), "--nproc_per_node", str(nproc),
            "--rdzv_backend", "c10d", "--rdzv_endpoint", f"{host}:{env.get('MOSAIC_RDZV_PORT', RDZV_PORT)}",
            "--rdzv_id", env.get("SLURM_JOB_ID", "mosaic"), *worker]


def launch_deepspeed(cfg: dict, work: Path, data: Path) -> dict:
    """Train in ``work`` with ``deepspeed.nproc`` workers per node; returns what rank 0 wrote: ``history``
    (the step records), ``world_size``, ``attn_implementation``, ``host_mmap_threshold``."""
    device = resolve_device(cfg.get("device", "auto"))
    nproc = worker_count(cfg["deepspeed"]["nproc"], device)
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc)),
           "DS_ACCELERATOR": ds_accelerator(device)}
    r = subprocess.run(torchrun_command(nproc, work, data, env, socket.gethostname()), env=env,
                       capture_output=True, text=True)
    (work / "workers.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"DeepSpeed workers failed (exit {r.returncode}); log: {work / 'workers.log'}\n"
                           + r.stderr[-2000:])
    return json.loads((work / "history.json").read_text())
