"""Hydra entry point: compose a run (or a multirun sweep) and execute it (``evaluation.pipeline.run``).

    python experiments/run.py experiment=smoke
    python experiments/run.py augmentation=none train.regime=packed
Hydra composes; the resolved config is frozen into the run's stages and everything downstream reads
that plain dict (distributed workers too), never Hydra's command line. The command-line overrides are
recorded with the MLflow run (tag ``hydra_overrides``), so a committed result leads back to them.

A credential on the command line (``+judge.api_key=...``) is taken out of ``sys.argv`` before Hydra
sees it, so Hydra's ``.hydra/*.yaml`` and ``multirun.yaml`` never hold it (mosaic/secrets.py).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from evaluation.pipeline import run
from mosaic.secrets import restore_secrets, take_secret_overrides
from mosaic.settings import ConfigError, select_evals

REPO = Path(__file__).resolve().parents[1]


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    if os.environ.get("SLURM_PROCID", "0") != "0":  # a multi-node SLURM job: node 0's runner drives (launch.py)
        print(f"SLURM task {os.environ['SLURM_PROCID']}: node 0's runner starts this node's workers with srun")
        return None
    resolved = restore_secrets(select_evals(OmegaConf.to_container(cfg, resolve=True)))
    overrides = [str(o) for o in HydraConfig.get().overrides.task]
    try:
        record = run(resolved, REPO, overrides=overrides)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"run {resolved['run_name']}: final loss {record['final_loss']:.4f}, "
          f"{record['cost']['real_tokens']} real tokens in {record['phases']['train_s']:.1f}s -> {record['run_dir']}")
    return record["final_loss"]


def scrub_argv() -> None:
    try:
        sys.argv[1:] = take_secret_overrides(sys.argv[1:])
    except ValueError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    scrub_argv()
    main()
