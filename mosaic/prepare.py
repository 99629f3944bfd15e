"""The data stage: the exact training samples of a run, built once per data key.

``<runs_dir>/stages/data/<key>/train.jsonl`` holds the Mosaic-IT samples (``mosaic augment`` with the
run's settings) or the original examples; compute matching adds the Mosaic-IT data whose real tokens
an original run must reach (:func:`compute_match`).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .augment.run import augment_file
from .data.io import file_sha256, write_jsonl
from .data.sources import resolve_examples
from .data.templates import get_template
from .models.tokenizer import load_tokenizer
from .settings import ConfigError, augment_config
from .stages import Stage, match_config
from .train.features import encode_samples, read_samples


def data_spec(cfg: dict) -> str:
    limit = cfg["dataset"].get("limit")
    return f"{cfg['dataset']['spec']}@{limit}" if limit else cfg["dataset"]["spec"]


def data_stage(cfg: dict, root: Path, key: str, force: bool = False) -> tuple[Path, dict]:
    """The exact training samples (``<stage>/train.jsonl``) and their statistics, built once per key."""
    stage = Stage(root, "data", key)
    if not (stage.done() and not force):
        with stage.claim(fresh=True) as work:
            if not (stage.done() and not force):  # another process may have finished it while we waited
                try:
                    stats = build_data(cfg, work / "train.jsonl", work)
                except BaseException:
                    shutil.rmtree(work, ignore_errors=True)
                    raise
                stage.commit({"spec": data_spec(cfg), "stats": stats,
                              "sha256": file_sha256(work / "train.jsonl")})
    return stage.final / "train.jsonl", stage.manifest()["stats"]


def build_data(cfg: dict, out: Path, work: Path) -> dict:
    aug = cfg["augmentation"]
    if aug["enabled"]:
        summary = augment_file(data_spec(cfg), out, cfg["model"]["tokenizer"], augment_config(cfg), progress=False,
                               workdir=work)
        if summary["samples"] == 0:
            raise ConfigError(f"augmentation.max_tokens={aug['max_tokens']}: no example of {data_spec(cfg)!r} fits "
                              f"the token budget ({summary['over_budget']} row-passes over it); raise the budget")
        return {k: summary[k] for k in ("rows_in", "samples", "count", "tokens", "over_budget", "strategies")}
    rows = [{"id": e.id, "instruction": e.prompt, "input": "", "output": e.output, "source": e.source}
            for e in resolve_examples(data_spec(cfg))]
    if not rows:
        raise ConfigError(f"dataset.spec={data_spec(cfg)!r} yields no examples")
    write_jsonl(out, rows)
    return {"rows_in": len(rows), "samples": len(rows)}


def compute_match(cfg: dict, root: Path, key: str | None, lengths: list[int], force: bool = False) -> dict | None:
    """Compute-matched original IT: as many real training tokens as the Mosaic-IT run named by
    ``compute_match`` would see (its samples are built, as a data stage of their own, and counted),
    reached by running enough epochs of the original data and stopping at the step that gets there."""
    match = match_config(cfg)
    if match is None:
        return None
    data, _ = data_stage(match, root, key, force)
    tok, template = load_tokenizer(cfg["model"]["tokenizer"]), get_template(cfg["model"]["template"])
    real = sum(len(e) for e in encode_samples(tok, template, read_samples(data))) * match["augmentation"]["epochs"]
    return {"matched_augmentation": match["augmentation"]["name"], "target_real_tokens": real,
            "epochs": max(1, -(-real // max(1, sum(lengths))))}
