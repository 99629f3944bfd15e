"""A real Hydra multirun through the joblib launcher: one MLflow parent run per sweep, one child per job."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_local_parallel_sweep_records_parent_and_children(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    r = subprocess.run([sys.executable, str(REPO / "experiments" / "run.py"), "-m", "experiment=smoke", "seed=0,1",
                        "hydra/launcher=local_parallel", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                        f"runs_dir={tmp_path / 'runs'}", f"tracking.uri={uri}", "train.max_steps=2",
                        "dataset.limit=16", "study=sweep-test"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    parent_id = (tmp_path / "sweep" / "parent_run_id").read_text().strip()
    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name("sweep-test")
    runs = client.search_runs([exp.experiment_id])
    parent = client.get_run(parent_id)
    assert parent.data.tags["sweep"] == "true" and parent.info.status == "FINISHED"
    assert "seed=0,1" in parent.data.tags["sweep_overrides"]
    children = [x for x in runs if x.data.tags.get("mlflow.parentRunId") == parent_id]
    assert sorted(c.data.params["seed"] for c in children) == ["0", "1"]
    assert len({c.data.tags["data_hash"] for c in children}) == 2  # the seed changes the mosaic samples
