"""How DeepSpeed workers are started (mosaic/train/launch.py): one node, or a SLURM allocation of several."""
import sys
from pathlib import Path

from mosaic.train.launch import RDZV_PORT, torchrun_command, worker_count

WORK, DATA = Path("/runs/w"), Path("/runs/d.jsonl")


def test_one_node_is_standalone():
    cmd = torchrun_command(2, WORK, DATA, {}, "node-a")
    assert cmd == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                   "-m", "mosaic.train.worker", str(WORK), str(DATA)]
    assert torchrun_command(2, WORK, DATA, {"SLURM_JOB_NUM_NODES": "1"}, "node-a") == cmd


def test_several_slurm_nodes_meet_at_a_rendezvous_on_the_runners_node():
    env = {"SLURM_JOB_NUM_NODES": "4", "SLURM_JOB_ID": "8812"}
    cmd = torchrun_command(8, WORK, DATA, env, "gpu017")
    assert cmd[:7] == ["srun", "--overlap", "--nodes", "4", "--ntasks-per-node", "1", "--kill-on-bad-exit=1"]
    flags = dict(zip(cmd[10::2], cmd[11::2]))
    assert flags["--nnodes"] == "4" and flags["--nproc_per_node"] == "8"
    assert flags["--rdzv_backend"] == "c10d" and flags["--rdzv_endpoint"] == f"gpu017:{RDZV_PORT}"
    assert flags["--rdzv_id"] == "8812" and cmd[-3:] == ["mosaic.train.worker", str(WORK), str(DATA)]
    assert "gpu017:29611" in torchrun_command(8, WORK, DATA, {**env, "MOSAIC_RDZV_PORT": "29611"}, "gpu017")


def test_auto_workers_are_the_visible_devices():
    assert worker_count("auto", "cpu") == 1 and worker_count(3, "cpu") == 3
