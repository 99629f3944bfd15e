"""`make gpu-check`: without a GPU it says so and exits 0; with --allow-cpu every check runs here (gloo)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mosaic.hardware import cuda_available

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "gpu_check.py"


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU: the check would run")
def test_without_a_gpu_it_says_so_and_exits_0(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0 and "no CUDA device visible; nothing was run" in r.stdout
    assert not (tmp_path / "gpu_check.json").exists()


def test_every_check_passes_on_the_cpu(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--allow-cpu", "--out", str(tmp_path)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())["results"]
    assert {x["check"] for x in results} >= {"bf16 training on the device", "packed rows equal unpacked",
                                             "kill and resume", "ZeRO-2 x1", "ZeRO-3 x1",
                                             "generation and lm-eval on the device"}
    assert all(x["ok"] for x in results) and r.stdout.count("PASS") == len(results)
