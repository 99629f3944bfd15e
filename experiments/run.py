"""Hydra entry point: compose a run (or a multirun sweep) and execute it.

    python experiments/run.py experiment=smoke
    python experiments/run.py augmentation=none train.regime=packed
Hydra composes; the resolved config is frozen into the run directory and everything downstream
reads that plain dict (distributed workers will too), never Hydra's command line.
"""
from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from mosaic.runner import ConfigError, run, select_evals

    resolved = select_evals(OmegaConf.to_container(cfg, resolve=True))
    try:
        record = run(resolved, REPO)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"run {resolved['run_name']}: final loss {record['final_loss']:.4f}, "
          f"{record['cost']['real_tokens']} real tokens in {record['phases']['train_s']:.1f}s -> {record['run_dir']}")
    return record["final_loss"]


if __name__ == "__main__":
    main()
