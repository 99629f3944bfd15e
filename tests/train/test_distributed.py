"""DeepSpeed ZeRO-2 and ZeRO-3 really run: two CPU processes under torchrun, compared with one process."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mosaic.train.recipe import TrainConfig, train

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ds_worker import CFG, setup  # noqa: E402


@pytest.fixture(scope="module")
def single_process_losses():
    tok, examples, model = setup()
    # two ranks x grad_accum 2 = one process with grad_accum 4
    state = train(model, examples, TrainConfig(**{**CFG, "grad_accum": 4}), tok.pad_token_id)
    return [h["loss"] for h in state.history]


@pytest.mark.parametrize("stage", [2, 3])
def test_two_process_zero_matches_single_process(stage, single_process_losses):
    env = {**os.environ, "DS_ACCELERATOR": "cpu", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), str(HERE)])}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(HERE / "ds_worker.py"), str(stage)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(l for l in r.stdout.splitlines() if l.startswith("LOSSES "))
    losses = json.loads(line[len("LOSSES "):])
    assert len(losses) == len(single_process_losses) == 2
    assert losses == pytest.approx(single_process_losses, rel=1e-4)
