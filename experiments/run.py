"""Hydra entry point: compose a run (or a multirun sweep) and execute it.

    python experiments/run.py experiment=smoke
    python experiments/run.py augmentation=none train.regime=packed
Hydra composes; the resolved config is frozen into the run directory and everything downstream
reads that plain dict (distributed workers will too), never Hydra's command line.

A credential on the command line (``+judge.api_key=...``) is taken out of ``sys.argv`` before Hydra
sees it, so Hydra's ``.hydra/*.yaml`` and ``multirun.yaml`` never hold it (mosaic/secrets.py).
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
    from mosaic.secrets import restore_secrets

    resolved = restore_secrets(select_evals(OmegaConf.to_container(cfg, resolve=True)))
    try:
        record = run(resolved, REPO)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"run {resolved['run_name']}: final loss {record['final_loss']:.4f}, "
          f"{record['cost']['real_tokens']} real tokens in {record['phases']['train_s']:.1f}s -> {record['run_dir']}")
    return record["final_loss"]


def scrub_argv() -> None:
    from mosaic.secrets import take_secret_overrides

    try:
        sys.argv[1:] = take_secret_overrides(sys.argv[1:])
    except ValueError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    scrub_argv()
    main()
