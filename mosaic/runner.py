"""One run, from a resolved config, through its stages: data -> training -> evaluation, then MLflow.

Each stage is keyed by a hash of its inputs and committed atomically (mosaic/stages.py); a run's own
directory, ``<runs_dir>/<study>/<run_name>/``, is an index written last: ``run.json`` plus links to the
stage outputs it used. Single process, or DeepSpeed workers started with torchrun that read the config
frozen into the training stage's work directory. Every configuration value is checked
(mosaic/settings.py) before any data is read or anything is written.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .augment.engine import AugmentConfig
from .data.io import file_sha256, write_json, write_jsonl
from .data.templates import get_template
from .secrets import redact
from .settings import MODEL_SOURCES, ConfigError, check  # noqa: F401  (re-exported)
from .stages import (STAGE_LAYOUT, TAG_DATA_KEY, TAG_LAYOUT, TAG_RUN_KEY, TAG_TRAIN_KEY, Stage, data_inputs, digest,
                     find_run, link, run_key, train_inputs)
from .train.recipe import LOSS_NORMALISATION, TrainConfig, plan_steps

def select_evals(cfg: dict) -> dict:
    """The composed config with only the evaluations the ``eval`` group selected.

    Each conf/eval file sets ``adapter``; an experiment that tunes an adapter's settings
    (``eval: {alpaca_eval: {limit: 32}}``) creates the key without selecting the adapter, so
    ``experiment=cpu_repro eval=[lm_eval]`` runs lm-eval only."""
    evals = cfg.get("eval") or {}
    return {**cfg, "eval": {n: c for n, c in evals.items() if isinstance(c, dict) and c.get("adapter") == n}}


def validate(cfg: dict) -> None:
    """Every value of ``cfg`` checked (mosaic/settings.py); raises :class:`ConfigError` naming the key."""
    check(cfg)


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


def launch_deepspeed(cfg: dict, work: Path, data: Path) -> tuple[list[dict], int]:
    """Start one process per device with torchrun; they read the config frozen into ``work``."""
    import os
    import subprocess
    import sys

    nproc = cfg["deepspeed"]["nproc"]
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc))}
    if not torch.cuda.is_available():
        env["DS_ACCELERATOR"] = "cpu"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "mosaic.train.worker", str(work), str(data)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    (work / "workers.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"DeepSpeed workers failed (exit {r.returncode}); log: {work / 'workers.log'}\n"
                           + r.stderr[-2000:])
    done = json.loads((work / "history.json").read_text())
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


@dataclass(frozen=True)
class Keys:
    """The stage keys of one run (mosaic/stages.py says what each covers)."""
    data: str
    match: str | None
    train: str
    run: str

    def tags(self) -> dict[str, str]:
        return {TAG_LAYOUT: STAGE_LAYOUT, TAG_DATA_KEY: self.data, TAG_TRAIN_KEY: self.train, TAG_RUN_KEY: self.run}


def match_config(cfg: dict) -> dict | None:
    """The Mosaic-IT data whose real tokens a compute-matched original run reaches, or None."""
    return {**cfg, "augmentation": cfg["compute_match"]} if cfg.get("compute_match") else None


def stage_keys(cfg: dict) -> Keys:
    """Hashes of what each stage consumes; reads the dataset and tokenizer files, writes nothing."""
    from .models.tokenizer import load_tokenizer

    tok = load_tokenizer(cfg["model"]["tokenizer"])
    data = digest(data_inputs(cfg, tok))
    match = match_config(cfg)
    match_key = digest({**data_inputs(match, tok), "epochs": match["augmentation"]["epochs"]}) if match else None
    train = digest(train_inputs(cfg, data, match_key, train_config(cfg).bf16))
    return Keys(data, match_key, train, run_key(cfg, train))


def data_stage(cfg: dict, root: Path, key: str, force: bool = False) -> tuple[Path, dict]:
    """The exact training samples (``<stage>/train.jsonl``) and their statistics, built once per key."""
    stage = Stage(root, "data", key)
    if not (stage.done() and not force):
        with stage.claim(fresh=True) as work:
            if not (stage.done() and not force):  # another process may have finished it while we waited
                try:
                    stats = build_data(cfg, work / "train.jsonl", work)
                except BaseException:
                    import shutil
                    shutil.rmtree(work, ignore_errors=True)
                    raise
                stage.commit({"spec": data_spec(cfg), "stats": stats,
                              "sha256": file_sha256(work / "train.jsonl")})
    return stage.final / "train.jsonl", stage.manifest()["stats"]


def build_data(cfg: dict, out: Path, work: Path) -> dict:
    from .augment.run import augment_file
    from .data.sources import resolve_examples

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


def read_samples(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def compute_match(cfg: dict, root: Path, key: str | None, lengths: list[int], force: bool = False) -> dict | None:
    """Compute-matched original IT: as many real training tokens as the Mosaic-IT run named by
    ``compute_match`` would see (its samples are built, as a data stage of their own, and counted),
    reached by running enough epochs of the original data and stopping at the step that gets there."""
    match = match_config(cfg)
    if match is None:
        return None
    from .models.tokenizer import load_tokenizer
    from .train.features import encode

    data, _ = data_stage(match, root, key, force)
    tok, template = load_tokenizer(cfg["model"]["tokenizer"]), get_template(cfg["model"]["template"])
    real = sum(len(encode(tok, template, s["instruction"], s["output"])) for s in read_samples(data))
    real *= match["augmentation"]["epochs"]
    return {"matched_augmentation": match["augmentation"]["name"], "target_real_tokens": real,
            "epochs": max(1, -(-real // max(1, sum(lengths))))}


def resolved_train_config(cfg: dict, work: Path) -> TrainConfig:
    """The train config plus what the training directory fixes (the compute-matching plan)."""
    from dataclasses import replace

    tc = train_config(cfg)
    path = work / "compute_match.json"
    if cfg.get("compute_match") and path.exists():
        plan = json.loads(path.read_text())
        tc = replace(tc, epochs=plan["epochs"], max_real_tokens=plan["target_real_tokens"])
    return tc


def run(cfg: dict, repo: Path, tracking: bool = True) -> dict:
    """Execute one run through its stages; returns its record (also ``<runs_dir>/<study>/<run_name>/run.json``).

    Data, training and evaluation are each reused when a finished stage has the same key; ``FORCE=1``
    or ``force=True`` redoes them. A killed run resumes (training from its last save, evaluation from
    its caches). Every configuration error is raised before anything is written."""
    import os

    check(cfg)
    force = bool(cfg.get("force")) or os.environ.get("FORCE") == "1"
    root = (repo / cfg["runs_dir"]).resolve()
    existed = root.exists()
    try:
        keys = stage_keys(cfg)
        record = train_stage(cfg, root, keys, force)
    except ConfigError:
        if not existed:
            prune_empty(root)
        raise
    run_id, complete = None, False
    if tracking:
        prior = None if record["trained_now"] else find_run(tracker(cfg, repo), cfg["study"], **{TAG_RUN_KEY: keys.run})
        complete = prior is not None and prior.data.tags.get("run_complete") == "true"
        run_id = prior.info.run_id if prior else log_to_mlflow(cfg, record, repo, keys)
    record["mlflow_run_id"] = run_id
    record["eval_dir"] = None
    if cfg.get("eval"):
        from evaluation.run import evaluate

        t = time.perf_counter()
        results = evaluate(cfg, Path(record["checkpoint"]), root, repo, None if complete else run_id)
        record["eval"] = {k: v["metrics"] for k, v in results.items() if k != "_stage"}
        record["eval_dir"] = results.get("_stage")
        record["phases"]["eval_s"] = time.perf_counter() - t
    if run_id and not complete:
        mark_complete(cfg, repo, run_id)
    write_index(root, cfg, record)
    return record


def tracker(cfg: dict, repo: Path):
    import mlflow

    from .tracking import tracking_uri

    return mlflow.MlflowClient(tracking_uri(cfg.get("tracking", {}).get("uri"), repo))


def prune_empty(root: Path) -> None:
    """Remove the directories a failed run created under ``root`` and left empty (and ``root`` if empty)."""
    import os

    if not root.is_dir():
        return
    for dirpath, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def write_index(root: Path, cfg: dict, record: dict) -> Path:
    """``<runs_dir>/<study>/<run_name>/``: the run's record and config, and links to its stage outputs.

    Written last, so a failed run of the same name never changes it. A directory of the earlier layout
    (checkpoint and data inside the run directory) is moved to ``previous-layout/``, not deleted."""
    import shutil

    index = root / cfg["study"] / cfg["run_name"]
    index.mkdir(parents=True, exist_ok=True)
    for p in index.glob(".*.tmp"):  # an atomic write a killed run left behind
        p.unlink(missing_ok=True)
    legacy = [p for p in index.iterdir() if not p.is_symlink() and not p.name.startswith(".")
              and p.name not in ("run.json", "config.json", "previous-layout")]
    if legacy:
        old = index / "previous-layout"
        old.mkdir(exist_ok=True)
        for p in legacy:
            shutil.move(str(p), old / p.name)
        print(f"[run] {index}: files of the earlier run layout moved to {old}", flush=True)
    targets = {"checkpoint": record["checkpoint"], "train": record["train_dir"], "data": record["data_dir"],
               "eval": record.get("eval_dir")}
    for name, target in targets.items():
        if target:
            link(Path(target), index / name)
        elif (index / name).is_symlink():
            (index / name).unlink()
    write_json(index / "config.json", redact(cfg))  # secrets belong in the environment, not in run records
    write_json(index / "run.json", redact(record))
    return index


def mark_complete(cfg: dict, repo: Path, run_id: str) -> None:
    """Training and every selected evaluation finished: ``make reproduce`` may skip this run next time."""
    from .tracking import config_hash

    client = tracker(cfg, repo)
    client.set_tag(run_id, "config_hash", config_hash(redact(cfg)))  # the evaluations may differ from the training's
    client.set_tag(run_id, "run_complete", "true")


def train_stage(cfg: dict, root: Path, keys: Keys, force: bool = False) -> dict:
    """The training record of ``keys.train``: read from its finished stage, or trained now (data first)."""
    stage = Stage(root, "train", keys.train)
    if stage.done() and not force:
        return stage_record(stage, cfg, root, trained_now=False)
    from .models.tokenizer import load_tokenizer
    from .train.features import encode

    t = time.perf_counter()
    data, data_stats = data_stage(cfg, root, keys.data, force)
    tok, template = load_tokenizer(cfg["model"]["tokenizer"]), get_template(cfg["model"]["template"])
    samples = read_samples(data)
    # Encoded here even when DeepSpeed workers encode again: a sample longer than max_len fails now.
    encoded = [encode(tok, template, s["instruction"], s["output"], cfg["model"]["max_len"]) for s in samples]
    plan = compute_match(cfg, root, keys.match, [len(e) for e in encoded], force)
    train_cfg = train_config(cfg)
    if plan:
        from dataclasses import replace
        train_cfg = replace(train_cfg, epochs=plan["epochs"], max_real_tokens=plan["target_real_tokens"])
    if not plan_steps(encoded, train_cfg, epoch_groups(cfg, samples)):
        raise ConfigError(f"training would take zero optimizer steps ({len(samples)} samples, "
                          f"train.batch_size={train_cfg.batch_size}, train.grad_accum={train_cfg.grad_accum})")
    data_s = time.perf_counter() - t
    with stage.claim(fresh=force) as work:
        if stage.done() and not force:  # finished by another process while this one waited for the lock
            return stage_record(stage, cfg, root, trained_now=False)
        write_json(work / "config.json", redact(cfg))
        if plan:
            write_json(work / "compute_match.json", plan)
        record, history = train_in(cfg, work, data, tok, samples, encoded, train_cfg)
        record.update(data_hash=file_sha256(data), data=data_stats, compute_match=plan, data_key=keys.data,
                      train_key=keys.train, training_hash=keys.train)
        record["phases"]["data_s"] = data_s
        write_json(work / "history.json", {"history": history})
        write_json(work / "record.json", record)
        stage.commit({"data_key": keys.data})
    return stage_record(stage, cfg, root, trained_now=True)


def stage_record(stage: Stage, cfg: dict, root: Path, trained_now: bool) -> dict:
    record = json.loads((stage.final / "record.json").read_text())
    record.update(checkpoint=str(stage.final / "checkpoint"), train_dir=str(stage.final),
                  data_dir=str(Stage(root, "data", record["data_key"]).final), trained_now=trained_now,
                  run_dir=str(root / cfg["study"] / cfg["run_name"]), history_path=str(stage.final / "history.json"))
    return record


def train_in(cfg: dict, work: Path, data: Path, tok, samples: list[dict], encoded: list, train_cfg: TrainConfig
             ) -> tuple[dict, list[dict]]:
    """Train in the work directory ``work`` (resuming from its last save) and save the checkpoint there."""
    import shutil

    from .cost.flops import ModelShape
    from .cost.peak import measure_matmul_peak, mfu
    from .train.recipe import train

    phases: dict[str, float] = {}
    t = time.perf_counter()
    bf16 = train_cfg.bf16
    devices = 1
    if cfg["deepspeed"].get("enabled"):
        hist, devices = launch_deepspeed(cfg, work, data)  # workers train and save the checkpoint
        phases["train_s"] = time.perf_counter() - t
        from transformers import AutoConfig
        model_config = AutoConfig.from_pretrained(work / "checkpoint")
    else:
        model = build_model(cfg["model"], len(tok))
        phases["model_s"] = time.perf_counter() - t
        t = time.perf_counter()
        state = train(model, encoded, train_cfg, tok.pad_token_id, checkpoint=work / "train_state.pt",
                      epoch_groups=epoch_groups(cfg, samples))
        hist = state.history
        phases["train_s"] = time.perf_counter() - t
        t = time.perf_counter()
        model.save_pretrained(work / "checkpoint")
        tok.save_pretrained(work / "checkpoint")
        phases["save_s"] = time.perf_counter() - t
        model_config = model.config
    # The final checkpoint is saved: resume state (optimizer moments: ~1.6 GB for SmolLM2) is no longer needed.
    (work / "train_state.pt").unlink(missing_ok=True)
    shutil.rmtree(work / "ds_checkpoint", ignore_errors=True)

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
    from .stages import checkpoint_hash
    record = {"cost": cost, "phases": phases, "final_loss": hist[-1]["loss"] if hist else None,
              "loss_normalisation": LOSS_NORMALISATION, "precision": "bf16" if bf16 else "fp32",
              "checkpoint_hash": checkpoint_hash(work / "checkpoint")}
    return record, hist


def log_to_mlflow(cfg: dict, record: dict, repo: Path, keys: Keys) -> str:
    """A new MLflow run for this run key: params, tags, the training history and cost (also when the
    training stage was reused: the tag ``train_reused`` says so)."""
    import os

    import mlflow

    from .tracking import PARENT_RUN_ENV, config_hash, experiment_id, flatten, git_commit, tracking_uri

    safe = redact(cfg)
    history = json.loads(Path(record["history_path"]).read_text())["history"]
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
                         "checkpoint": record["checkpoint"], "checkpoint_hash": record["checkpoint_hash"],
                         "training_hash": record["training_hash"], "train_status": "finished", "seed": str(cfg["seed"]),
                         "train_reused": str(not record["trained_now"]).lower(), **keys.tags()})
        for h in history:
            mlflow.log_metrics({"train/loss": h["loss"], "train/lr": h["lr"], "train/grad_norm": h["grad_norm"]},
                               step=h["step"])
        mlflow.log_metrics({f"cost/{k}": float(v) for k, v in record["cost"].items()})
        mlflow.log_dict(safe, "config.json")
        mlflow.log_dict(record["data"], "data_stats.json")
        return active.info.run_id
