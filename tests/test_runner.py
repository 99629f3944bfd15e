"""Config composition (every shipped option), early configuration errors, and a real smoke run with MLflow."""
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from evaluation.pipeline import run
from mosaic.settings import ConfigError, check as validate, select_evals

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def composed(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)


@pytest.mark.parametrize("group", ["model", "dataset", "augmentation", "train", "deepspeed", "experiment", "ablation",
                                   "eval", "judge", "baseline"])
def test_every_shipped_option_composes_and_validates(group):
    for option in options(group):
        cfg = composed(f"{group}={option}")
        validate(cfg)
        assert cfg["train"]["epochs"] == cfg["augmentation"]["epochs"]


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local", "submitit_slurm"]
                         + options("hydra/launcher"))
def test_every_launcher_composes(launcher):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.startswith("hydra")
    assert cfg.hydra.callbacks.mlflow_sweep._target_ == "mosaic.tracking.SweepParentRun"


def test_ablations_are_sweeps_over_real_keys():
    for option in options("ablation"):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("config", overrides=[f"ablation={option}"], return_hydra_config=True)
        params = cfg.hydra.sweeper.params
        assert params, option
        for key, values in params.items():
            for value in str(values).split(","):  # every swept value composes and validates
                override = f"{key}={value}"
                validate(composed(override))


SCALES = {"smoke", "cpu_repro", "cpu_repro_small", "repro_smoke"}  # experiments that set a scale and a study, not a variant


def test_experiment_variants_have_distinct_run_names():
    variants = [o for o in options("experiment") if o not in SCALES]
    names = {composed(f"experiment={o}")["run_name"] for o in variants}
    names.add(composed("augmentation=none")["run_name"])
    names.add(composed("augmentation=all")["run_name"])
    assert len(names) == len(variants) + 2


@pytest.mark.parametrize("baseline", options("baseline"))
def test_a_baseline_combines_with_a_scale_and_equals_its_experiment(baseline):
    """``baseline=X`` on top of the reproduce scale keeps the scale's data and evaluations and sets the
    baseline's variant; ``experiment=baseline_X`` is the same baseline at the default scale."""
    scale, combined = composed("experiment=cpu_repro"), composed("experiment=cpu_repro", f"baseline={baseline}")
    validate(combined)
    assert combined["dataset"] == scale["dataset"] and combined["eval"] == scale["eval"]
    assert combined["variant"] == composed(f"experiment=baseline_{baseline}")["variant"] != scale["variant"]


def test_online_needs_one_epoch_per_pass(tmp_path):
    cfg = composed("augmentation.online=true", f"runs_dir={tmp_path}")
    with pytest.raises(ConfigError, match=r"train\.epochs=1 must equal augmentation\.passes=4"):
        validate(cfg)
    validate(composed("experiment=online"))


def test_compute_match_needs_original_it():
    cfg = composed("experiment=baseline_compute_matched", "augmentation=all")
    with pytest.raises(ConfigError, match="augmentation=none"):
        validate(cfg)


def test_paper_epoch_mapping_is_explicit():
    assert composed("augmentation=none")["train"]["epochs"] == 3
    assert composed("augmentation=all")["train"]["epochs"] == 1
    assert composed("augmentation=all")["augmentation"]["passes"] == 4


@pytest.mark.parametrize("override,key", [
    ("augmentation.max_tokens=4096", "augmentation.max_tokens"),
    ("train.regime=bucketed", "train.regime"),
    ("model.source=ollama", "model.source"),
    ("train.precision=fp8", "train.precision"),
    ("augmentation.wrap_mode=zipf", "wrap_mode"),
])
def test_bad_config_fails_before_anything_runs_and_names_the_key(override, key, tmp_path):
    cfg = composed(override, f"runs_dir={tmp_path}")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        run(cfg, REPO, tracking=False)
    assert not any(tmp_path.iterdir())  # nothing written


def test_unknown_group_option_is_named():
    with pytest.raises(MissingConfigException, match="gpt5"):
        composed("model=gpt5")


def test_smoke_run_trains_saves_and_records_to_mlflow(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = composed("experiment=smoke", f"runs_dir={tmp_path / 'runs'}", "train.max_steps=2",
                   f"tracking.uri={uri}", "+judge.api_key=sk-test-secret-123")
    record = run(cfg, REPO)
    run_dir = Path(record["run_dir"])
    assert (run_dir / "checkpoint" / "model.safetensors").is_file() and (run_dir / "data" / "train.jsonl").is_file()
    assert Path(record["checkpoint"]).parent.parent.name == "train"  # the index links to the training stage
    c = record["cost"]
    assert c["optimizer_steps"] == 2 and c["real_tokens"] <= c["processed_tokens"] and 0 < c["mfu"] < 1
    client = mlflow.MlflowClient(tracking_uri=uri)
    (r,) = client.search_runs([client.get_experiment_by_name("smoke").experiment_id])
    assert r.data.tags["data_hash"] == record["data_hash"] and r.data.tags["template_id"] == "vicuna_v1.1"
    assert r.data.params["augmentation.passes"] == "1" and r.data.params["judge.api_key"] == "***"
    assert r.data.params["model.tokenizer"] == "smollm2"
    assert len(client.get_metric_history(r.info.run_id, "train/loss")) == 2
    assert "cost/real_tokens" in r.data.metrics
    # where it ran: device, precision, attention kernel, host allocator and the MFU peak's source
    where = record["placement"]
    assert r.data.tags["device"] == where["device"] == "cpu" and r.data.tags["device_name"] == where["device_name"]
    assert r.data.tags["precision"] == record["precision"] in ("bf16", "fp32")
    assert r.data.tags["attn_implementation"] == where["attn_implementation"] == "sdpa"
    assert r.data.tags["host_mmap_threshold"] == "None" and c["peak_source"].startswith("measured")  # no checkpointing
    blob = (tmp_path / "mlflow.db").read_bytes()
    assert b"sk-test-secret-123" not in blob
    artifacts = Path(r.info.artifact_uri.replace("file://", ""))
    assert all(b"sk-test-secret-123" not in p.read_bytes() for p in artifacts.rglob("*") if p.is_file())
    assert b"sk-test-secret-123" not in (run_dir / "config.json").read_bytes()
    assert all(b"sk-test-secret-123" not in p.read_bytes() for p in (tmp_path / "runs").rglob("*") if p.is_file())


def test_run_with_evaluations_logs_metrics_and_artifacts_to_mlflow(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = composed("experiment=smoke", f"runs_dir={tmp_path / 'runs'}", "train.max_steps=1", f"tracking.uri={uri}",
                   "eval=[lm_eval,mosaic_bench]", "eval.lm_eval.limit=4", "eval.mosaic_bench.ks=[2]",
                   "eval.mosaic_bench.n_per_cell=1", "eval.mosaic_bench.vocabularies=[heldout]",
                   "eval.mosaic_bench.max_new_tokens=8")
    record = run(cfg, REPO)
    assert set(record["eval"]) == {"lm_eval", "mosaic_bench"}
    client = mlflow.MlflowClient(tracking_uri=uri)
    (r,) = client.search_runs([client.get_experiment_by_name("smoke").experiment_id])
    assert r.data.metrics["lm_eval/average"] == record["eval"]["lm_eval"]["lm_eval/average"]
    assert "mosaic_bench/structure_acc" in r.data.metrics
    assert r.data.tags["eval_status/lm_eval"] == r.data.tags["eval_status/mosaic_bench"] == "finished"
    names = {a.path for a in client.list_artifacts(r.info.run_id, "eval/mosaic_bench")}
    assert {"eval/mosaic_bench/info.json", "eval/mosaic_bench/responses.jsonl"} <= names


def test_heldout_probe_logs_a_curve_over_real_tokens(tmp_path):
    import json

    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = composed("experiment=smoke", f"runs_dir={tmp_path / 'runs'}", "train.max_steps=3", f"tracking.uri={uri}",
                   "dataset.limit=64", "probe.every_real_tokens=1000", "probe.examples=8", "probe.mosaic_samples=2")
    record = run(cfg, REPO)
    points = json.loads(Path(record["heldout_path"]).read_text())["points"]
    assert points[0]["real_tokens_seen"] == 0 and points[-1]["final"] and len(points) >= 3
    assert {len(p["sets"]["single"]["items"]) for p in points} == {8}
    assert {len(p["sets"]["mosaic"]["items"]) for p in points} == {2}
    client = mlflow.MlflowClient(tracking_uri=uri)
    (r,) = client.search_runs([client.get_experiment_by_name("smoke").experiment_id])
    curve = client.get_metric_history(r.info.run_id, "heldout/single/nll")
    assert sorted(m.step for m in curve) == [p["real_tokens_seen"] for p in points]
    assert r.data.metrics["heldout/mosaic/final_nll"] == points[-1]["sets"]["mosaic"]["nll_per_token"]
    assert "heldout.json" in {a.path for a in client.list_artifacts(r.info.run_id)}


def test_probe_is_part_of_the_train_key_only_when_on():
    from mosaic.stages import stage_keys

    off = composed("experiment=smoke")
    assert stage_keys(off).train == stage_keys({k: v for k, v in off.items() if k != "probe"}).train
    assert stage_keys(composed("experiment=smoke", "probe.every_real_tokens=100")).train != stage_keys(off).train
    with pytest.raises(ConfigError, match="probe.every_real_tokens"):
        validate(composed("experiment=smoke", "deepspeed=zero2", "probe.every_real_tokens=100"))


def test_unknown_evaluation_is_named(tmp_path):
    from evaluation.run import evaluate

    with pytest.raises(ValueError, match="unknown eval"):
        evaluate({**composed(), "eval": {"gpt_arena": {}}}, tmp_path, tmp_path, REPO)


def test_deepspeed_zero3_run_through_torchrun(tmp_path):
    cfg = composed("experiment=smoke", "deepspeed=zero3", f"runs_dir={tmp_path / 'runs'}", "train.max_steps=2",
                   "train.batch_size=2", "train.precision=fp32")
    record = run(cfg, REPO, tracking=False)
    run_dir = Path(record["run_dir"])
    assert (run_dir / "checkpoint" / "model.safetensors").is_file()  # gathered from the ZeRO-3 shards
    assert record["cost"]["devices"] == 2 and record["cost"]["optimizer_steps"] == 2
    assert 9 < record["final_loss"] < 12  # a random tiny model: about ln(49152)
    assert record["placement"]["attn_implementation"] == "sdpa" and "host_mmap_threshold" in record["placement"]

    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(run_dir / "checkpoint")  # reloads in a plain process
    assert sum(p.numel() for p in model.parameters()) > 3_000_000


def test_online_run_trains_epoch_e_on_pass_e(tmp_path):
    cfg = composed("experiment=smoke", "dataset.limit=16", "augmentation.passes=2", "augmentation.online=true",
        "augmentation.epochs=2", "train.max_steps=null", f"runs_dir={tmp_path}")
    record = run(cfg, REPO, tracking=False)
    samples = record["data"]["samples"]
    assert record["cost"]["examples"] == samples  # every sample once: pass e in epoch e
    assert record["data"]["rows_in"] == 16


def test_compute_matched_original_sees_the_mosaic_runs_real_tokens(tmp_path):
    cfg = composed("experiment=smoke", "dataset.limit=16", "augmentation=none",
                   f"runs_dir={tmp_path}", "train.max_steps=null", "train.batch_size=2")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        match = OmegaConf.to_container(compose("config", overrides=["augmentation=all"]).augmentation, resolve=True)
    cfg["compute_match"] = {**match, "passes": 2, "max_tokens": 1024}
    record = run(cfg, REPO, tracking=False)
    plan = record["compute_match"]
    assert plan["matched_augmentation"] == "all" and plan["epochs"] >= 2
    real = record["cost"]["real_tokens"]
    assert plan["target_real_tokens"] <= real < plan["target_real_tokens"] + 2 * 1024


def test_finished_training_is_reused_and_forced_again(tmp_path, monkeypatch):
    cfg = composed("experiment=smoke", f"runs_dir={tmp_path}", "train.max_steps=1", "dataset.limit=8")
    first = run(cfg, REPO, tracking=False)
    weights = Path(first["run_dir"]) / "checkpoint" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    again = run({**cfg, "eval": {}}, REPO, tracking=False)  # evaluation settings do not retrain
    assert weights.stat().st_mtime_ns == stamp and again["data_hash"] == first["data_hash"]
    monkeypatch.setenv("FORCE", "1")
    run(cfg, REPO, tracking=False)
    assert weights.stat().st_mtime_ns != stamp
    monkeypatch.delenv("FORCE")
    changed = run({**cfg, "train": {**cfg["train"], "lr": 0.5}}, REPO, tracking=False)  # another training config
    assert changed["training_hash"] != first["training_hash"]


def test_an_experiment_tuning_an_adapter_does_not_select_it():
    cfg = select_evals(composed("experiment=cpu_repro", "eval=[lm_eval]"))
    assert list(cfg["eval"]) == ["lm_eval"] and cfg["eval"]["lm_eval"]["batch_size"] == 8  # cpu_repro's setting kept
    assert sorted(select_evals(composed("experiment=cpu_repro"))["eval"]) == [
        "alpaca_eval", "lm_eval", "mosaic_bench", "mt_bench", "pairwise", "verifiable"]
    assert select_evals(composed("experiment=cpu_repro", "eval=[]"))["eval"] == {}


def test_the_paper_defaults_live_in_one_place():
    """conf/augmentation/all.yaml (runs) and the engine's AugmentConfig (the CLI, the library) agree; the
    single-strategy mixes are two-line diffs over all.yaml."""
    from dataclasses import asdict

    from mosaic.augment.engine import AugmentConfig

    aug = composed("augmentation=all")["augmentation"]
    engine = asdict(AugmentConfig())
    assert {k: aug[k] for k in ("strategy", "wrap_mode", "max_count", "max_tokens", "passes", "vocabulary")} == {
        k: engine[k] for k in ("strategy", "wrap_mode", "max_count", "max_tokens", "passes", "vocabulary")}
    for mix in ("primary", "format", "permute", "maskout"):
        single = composed(f"augmentation={mix}")["augmentation"]
        assert {k: v for k, v in single.items() if aug[k] != v} == {"name": mix, "strategy": mix}
