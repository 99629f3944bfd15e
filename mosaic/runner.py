"""One run, from a resolved config: data -> (mosaic) samples -> tokens -> training -> checkpoint -> MLflow.

Single process, or DeepSpeed workers started with torchrun that read the config this freezes into the
run directory. Every check of the configuration happens before any data is read or model is built.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .augment.engine import AugmentConfig
from .cost.batching import REGIMES
from .data.io import file_sha256, write_json, write_jsonl
from .data.templates import TEMPLATES, get_template
from .train.recipe import LOSS_NORMALISATION, TrainConfig

MODEL_SOURCES = ("smollm2", "random_llama", "hub")


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key."""


def select_evals(cfg: dict) -> dict:
    """The composed config with only the evaluations the ``eval`` group selected.

    Each conf/eval file sets ``adapter``; an experiment that tunes an adapter's settings
    (``eval: {alpaca_eval: {limit: 32}}``) creates the key without selecting the adapter, so
    ``experiment=cpu_repro eval=[lm_eval]`` runs lm-eval only."""
    evals = cfg.get("eval") or {}
    return {**cfg, "eval": {n: c for n, c in evals.items() if isinstance(c, dict) and c.get("adapter") == n}}


def validate(cfg: dict) -> None:
    model, aug, train, ds = cfg["model"], cfg["augmentation"], cfg["train"], cfg.get("deepspeed", {})
    if model.get("source") not in MODEL_SOURCES:
        raise ConfigError(f"model.source must be one of {MODEL_SOURCES}, got {model.get('source')!r}")
    if model.get("template") not in TEMPLATES:
        raise ConfigError(f"model.template must be one of {TEMPLATES}, got {model.get('template')!r}")
    if train.get("regime") not in REGIMES:
        raise ConfigError(f"train.regime must be one of {REGIMES}, got {train.get('regime')!r}")
    if train.get("precision") not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"train.precision must be auto, bf16 or fp32, got {train.get('precision')!r}")
    if aug.get("enabled") and aug["max_tokens"] > model["max_len"]:
        raise ConfigError(f"augmentation.max_tokens={aug['max_tokens']} exceeds model.max_len={model['max_len']}: "
                          "mosaic samples would not fit the training sequence")
    if aug.get("enabled") and aug.get("online") and train.get("epochs") != aug.get("passes"):
        raise ConfigError(f"augmentation.online=true trains epoch e on pass e: train.epochs={train.get('epochs')} "
                          f"must equal augmentation.passes={aug.get('passes')}")
    if cfg.get("compute_match") and aug.get("enabled"):
        raise ConfigError("compute_match matches ORIGINAL instruction tuning to a Mosaic-IT run: "
                          "it needs augmentation=none")
    if ds.get("enabled"):
        if ds.get("stage") not in (2, 3):
            raise ConfigError(f"deepspeed.stage must be 2 or 3, got {ds.get('stage')!r}")
        if not isinstance(ds.get("nproc"), int) or ds["nproc"] < 1:
            raise ConfigError(f"deepspeed.nproc must be a positive integer, got {ds.get('nproc')!r}")
    if aug.get("enabled"):
        try:
            augment_config(cfg)
        except ValueError as e:
            raise ConfigError(f"augmentation: {e}") from None


def augment_config(cfg: dict) -> AugmentConfig:
    aug = cfg["augmentation"]
    return AugmentConfig(strategy=aug["strategy"], wrap_mode=aug["wrap_mode"], max_count=aug["max_count"],
                         max_tokens=aug["max_tokens"], passes=aug["passes"], seed=cfg["seed"],
                         template=cfg["model"]["template"], vocabulary=aug.get("vocabulary", "train"))


def train_config(cfg: dict) -> TrainConfig:
    tc = cfg["train"]
    bf16 = tc["precision"] == "bf16" or (tc["precision"] == "auto" and bf16_supported())
    return TrainConfig(regime=tc["regime"], max_len=cfg["model"]["max_len"], batch_size=tc["batch_size"],
                       grad_accum=tc["grad_accum"], epochs=tc["epochs"], lr=tc["lr"], weight_decay=tc["weight_decay"],
                       warmup_ratio=tc["warmup_ratio"], max_grad_norm=tc["max_grad_norm"], seed=cfg["seed"], bf16=bf16,
                       max_steps=tc["max_steps"], save_every=tc["save_every"])


def launch_deepspeed(cfg: dict, run_dir: Path) -> tuple[list[dict], int]:
    """Start one process per device with torchrun; they read the frozen config in ``run_dir``."""
    import os
    import subprocess
    import sys

    nproc = cfg["deepspeed"]["nproc"]
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc))}
    if not torch.cuda.is_available():
        env["DS_ACCELERATOR"] = "cpu"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "mosaic.train.worker", str(run_dir)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    (run_dir / "workers.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"DeepSpeed workers failed (exit {r.returncode}); log: {run_dir / 'workers.log'}\n"
                           + r.stderr[-2000:])
    done = json.loads((run_dir / "history.json").read_text())
    return done["history"], done["world_size"]


def epoch_groups(cfg: dict, samples: list[dict]) -> list[list[int]] | None:
    """Online Mosaic-IT: the samples of pass e form epoch e (re-mosaicked every epoch). Offline: None,
    every epoch sees the whole file (the passes, shuffled together)."""
    aug = cfg["augmentation"]
    if not (aug.get("enabled") and aug.get("online")):
        return None
    groups: list[list[int]] = [[] for _ in range(aug["passes"])]
    for i, s in enumerate(samples):
        groups[s["provenance"]["pass"]].append(i)
    return groups


def bf16_supported() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def build_model(model_cfg: dict, vocab: int):
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    if model_cfg["source"] == "random_llama":
        torch.manual_seed(0)
        return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, max_position_embeddings=model_cfg["max_len"],
                                            **model_cfg.get("config", {})))
    if model_cfg["source"] == "smollm2":
        from .models.smollm2 import model_dir
        return AutoModelForCausalLM.from_pretrained(model_dir(), dtype=torch.float32)
    return AutoModelForCausalLM.from_pretrained(model_cfg["id"], dtype=torch.float32)


def data_spec(cfg: dict) -> str:
    limit = cfg["dataset"].get("limit")
    return f"{cfg['dataset']['spec']}@{limit}" if limit else cfg["dataset"]["spec"]


def prepare_data(cfg: dict, run_dir: Path, name: str = "train") -> tuple[Path, dict]:
    """The exact training samples, as a JSONL in the run directory, and their statistics."""
    from .augment.run import augment_file
    from .data.sources import resolve_examples

    data = run_dir / "data" / f"{name}.jsonl"
    if cfg["augmentation"]["enabled"]:
        summary = augment_file(data_spec(cfg), data, cfg["model"]["tokenizer"], augment_config(cfg), progress=False)
        stats = {k: summary[k] for k in ("rows_in", "samples", "count", "tokens", "over_budget", "strategies")}
    else:
        rows = [{"id": e.id, "instruction": e.prompt, "input": "", "output": e.output, "source": e.source}
                for e in resolve_examples(data_spec(cfg))]
        write_jsonl(data, rows)
        stats = {"rows_in": len(rows), "samples": len(rows)}
    return data, stats


def compute_match(cfg: dict, run_dir: Path, lengths: list[int]) -> dict | None:
    """Compute-matched original IT: as many real training tokens as the Mosaic-IT run named by
    ``compute_match`` would see (its samples are built, deterministically, and counted), reached by
    running enough epochs of the original data and stopping at the step that gets there.
    Written to ``data/compute_match.json`` so DeepSpeed workers apply the same plan."""
    target = cfg.get("compute_match")
    path = run_dir / "data" / "compute_match.json"
    if not target:
        return None
    from .models.tokenizer import load_tokenizer
    from .train.features import encode

    match_cfg = {**cfg, "augmentation": target}
    data, _ = prepare_data(match_cfg, run_dir, name="compute_match_samples")
    tok, template = load_tokenizer(cfg["model"]["tokenizer"]), get_template(cfg["model"]["template"])
    samples = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    real = sum(len(encode(tok, template, s["instruction"], s["output"])) for s in samples) * target["epochs"]
    plan = {"matched_augmentation": target["name"], "target_real_tokens": real,
            "epochs": max(1, -(-real // max(1, sum(lengths))))}
    write_json(path, plan)
    return plan


def resolved_train_config(cfg: dict, run_dir: Path) -> TrainConfig:
    """The train config plus what the run directory fixes (compute matching)."""
    from dataclasses import replace

    tc = train_config(cfg)
    path = run_dir / "data" / "compute_match.json"
    if cfg.get("compute_match") and path.exists():
        plan = json.loads(path.read_text())
        tc = replace(tc, epochs=plan["epochs"], max_real_tokens=plan["target_real_tokens"])
    return tc


def run(cfg: dict, repo: Path, tracking: bool = True) -> dict:
    """Execute one run; returns its record (also written to ``<run_dir>/record.json``).

    Training whose record says it finished with the same training config and a saved checkpoint is not
    redone (a run killed during evaluation resumes there); ``FORCE=1`` or ``force=True`` redoes it.
    """
    import os

    from .tracking import redact, training_hash

    validate(cfg)
    run_dir = (repo / cfg["runs_dir"] / cfg["study"] / cfg["run_name"]).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", redact(cfg))  # secrets belong in the environment, not in run records
    record = finished_training(run_dir, training_hash(cfg))
    if record is None or cfg.get("force") or os.environ.get("FORCE") == "1":
        record, hist = train_run(cfg, run_dir)
        record["mlflow_run_id"] = log_to_mlflow(cfg, record, hist, repo, run_dir) if tracking else None
        write_json(run_dir / "record.json", record)
    if cfg.get("eval"):
        from evaluation.run import evaluate

        t = time.perf_counter()
        record["eval"] = {k: v["metrics"] for k, v in evaluate(cfg, run_dir, repo, record.get("mlflow_run_id")).items()}
        record["phases"]["eval_s"] = time.perf_counter() - t
        write_json(run_dir / "record.json", record)
    if record.get("mlflow_run_id"):
        mark_complete(cfg, repo, record["mlflow_run_id"])
    return record


def mark_complete(cfg: dict, repo: Path, run_id: str) -> None:
    """Training and every selected evaluation finished: ``make reproduce`` may skip this run next time."""
    import mlflow

    from .tracking import config_hash, redact, tracking_uri

    client = mlflow.MlflowClient(tracking_uri(cfg.get("tracking", {}).get("uri"), repo))
    client.set_tag(run_id, "config_hash", config_hash(redact(cfg)))  # the evaluations may differ from the training's
    client.set_tag(run_id, "run_complete", "true")


def finished_training(run_dir: Path, train_hash: str) -> dict | None:
    try:
        record = json.loads((run_dir / "record.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    done = record.get("training_hash") == train_hash and (run_dir / "checkpoint" / "config.json").exists()
    return record if done else None


def train_run(cfg: dict, run_dir: Path) -> tuple[dict, list[dict]]:
    """Data, training, checkpoint and the cost record of one run."""
    from .cost.flops import ModelShape
    from .cost.peak import measure_matmul_peak, mfu
    from .models.tokenizer import load_tokenizer
    from .tracking import training_hash
    from .train.features import encode
    from .train.recipe import train

    phases: dict[str, float] = {}
    t = time.perf_counter()
    tok = load_tokenizer(cfg["model"]["tokenizer"])
    data, data_stats = prepare_data(cfg, run_dir)
    data_hash = file_sha256(data)
    template = get_template(cfg["model"]["template"])
    samples = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    # Encoded here even when DeepSpeed workers encode again: a sample longer than max_len fails now,
    # before any worker starts.
    encoded = [encode(tok, template, s["instruction"], s["output"], cfg["model"]["max_len"]) for s in samples]
    matched = compute_match(cfg, run_dir, [len(e) for e in encoded])
    phases["data_s"] = time.perf_counter() - t

    t = time.perf_counter()
    train_cfg = resolved_train_config(cfg, run_dir)
    bf16 = train_cfg.bf16
    devices = 1
    if cfg["deepspeed"].get("enabled"):
        hist, devices = launch_deepspeed(cfg, run_dir)  # workers train and save the checkpoint
        phases["train_s"] = time.perf_counter() - t
        from transformers import AutoConfig
        model_config = AutoConfig.from_pretrained(run_dir / "checkpoint")
    else:
        model = build_model(cfg["model"], len(tok))
        phases["model_s"] = time.perf_counter() - t
        t = time.perf_counter()
        state = train(model, encoded, train_cfg, tok.pad_token_id, checkpoint=run_dir / "train_state.pt",
                      epoch_groups=epoch_groups(cfg, samples))
        hist = state.history
        phases["train_s"] = time.perf_counter() - t
        t = time.perf_counter()
        model.save_pretrained(run_dir / "checkpoint")
        tok.save_pretrained(run_dir / "checkpoint")
        phases["save_s"] = time.perf_counter() - t
        model_config = model.config
    # The final checkpoint is saved: resume state (optimizer moments: ~1.6 GB for SmolLM2) is no longer needed.
    import shutil

    (run_dir / "train_state.pt").unlink(missing_ok=True)
    shutil.rmtree(run_dir / "ds_checkpoint", ignore_errors=True)

    train_seconds = sum(h["seconds"] for h in hist)  # summed over steps, so a resumed run counts all of them
    shape = ModelShape.from_config(model_config)
    real = sum(h["real_tokens"] for h in hist)
    processed = sum(h["processed_tokens"] for h in hist)
    peak = measure_matmul_peak(torch.bfloat16 if bf16 else torch.float32)
    useful = shape.train_flops(real, shape.attention_flops_for_pairs(sum(h["causal_pairs"] for h in hist)))
    cost = {"sequences": sum(h["sequences"] for h in hist), "examples": sum(h["examples"] for h in hist),
            "optimizer_steps": len(hist), "devices": devices,
            "real_tokens": real, "processed_tokens": processed,
            "loss_tokens": sum(h["loss_tokens"] for h in hist),
            "padding_fraction": 1 - real / processed if processed else 0.0,
            "train_seconds": train_seconds, "real_tokens_per_s": real / train_seconds,
            "processed_tokens_per_s": processed / train_seconds, "train_flops_useful": useful,
            "peak_flops_per_device": peak, "mfu": mfu(useful, train_seconds, devices, peak),
            "device_hours": train_seconds * devices / 3600}
    record = {"run_dir": str(run_dir), "data_hash": data_hash, "data": data_stats, "cost": cost, "phases": phases,
              "final_loss": hist[-1]["loss"] if hist else None, "loss_normalisation": LOSS_NORMALISATION,
              "compute_match": matched, "training_hash": training_hash(cfg),
              "precision": "bf16" if bf16 else "fp32"}
    return record, hist


def log_to_mlflow(cfg: dict, record: dict, history: list[dict], repo: Path, run_dir: Path) -> str:
    import os

    import mlflow

    from .tracking import PARENT_RUN_ENV, config_hash, experiment_id, flatten, git_commit, redact, tracking_uri

    safe = redact(cfg)
    uri = tracking_uri(cfg.get("tracking", {}).get("uri"), repo)
    mlflow.set_tracking_uri(uri)
    parent = os.environ.get(PARENT_RUN_ENV)  # set by the sweep callback: this run is one job of a sweep
    with mlflow.start_run(experiment_id=experiment_id(uri, cfg["study"]), run_name=cfg["run_name"], parent_run_id=parent,
                          nested=mlflow.active_run() is not None) as active:
        mlflow.log_params(flatten(safe))
        mlflow.set_tags({"git_commit": git_commit(repo), "config_hash": config_hash(safe),
                         "data_hash": record["data_hash"], "model_id": cfg["model"]["name"],
                         "template_id": cfg["model"]["template"], "loss_normalisation": record["loss_normalisation"],
                         "variant": cfg.get("variant", cfg["augmentation"]["name"]), "run_dir": record["run_dir"],
                         "training_hash": record["training_hash"], "train_status": "finished"})
        for h in history:
            mlflow.log_metrics({"train/loss": h["loss"], "train/lr": h["lr"], "train/grad_norm": h["grad_norm"]},
                               step=h["step"])
        mlflow.log_metrics({f"cost/{k}": float(v) for k, v in record["cost"].items()})
        mlflow.log_dict(safe, "config.json")
        mlflow.log_dict(record["data"], "data_stats.json")
        return active.info.run_id
