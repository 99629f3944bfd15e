"""Run integrity: stages keyed by their inputs, failed runs that change nothing, every value checked
before work, credentials written nowhere, a killed run's debris removed. Each case was a bug on the
previous layout (issue 10); these tests reproduce it on real runs of the smoke model."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluation.pipeline import run
from mosaic.settings import ConfigError
from mosaic.stages import Stage, StageBusy, hold_lock
from tests.test_runner import REPO, composed

SMOKE = ("experiment=smoke", "train.max_steps=2", "dataset.limit=8")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------- stale checkpoints

def test_changed_data_retrains_and_records_the_new_hash(tmp_path):
    rows = [{"instruction": f"Say the number {i}.", "input": "", "output": f"The number is {i}."} for i in range(12)]
    spec = tmp_path / "mine.jsonl"
    spec.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = composed("experiment=smoke", "train.max_steps=1", f"dataset.spec={spec}", f"runs_dir={tmp_path / 'runs'}")
    first = run(cfg, REPO, tracking=False)
    assert first["trained_now"]

    spec.write_text("".join(json.dumps(r) + "\n" for r in rows[1:]))  # one row deleted, same config
    second = run(cfg, REPO, tracking=False)
    assert second["trained_now"] and second["data_hash"] != first["data_hash"]
    assert second["data"]["rows_in"] == 11 and second["train_key"] != first["train_key"]
    index = json.loads((Path(second["run_dir"]) / "run.json").read_text())
    assert index["data_hash"] == second["data_hash"]  # the run's index names the new data

    again = run({**cfg, "eval": {}, "generation": {"batch_size": 2}}, REPO, tracking=False)  # evaluation only
    assert not again["trained_now"] and again["checkpoint"] == second["checkpoint"]

    for change in ({"augmentation": {**cfg["augmentation"], "max_count": 3}},
                   {"dataset": {**cfg["dataset"], "limit": 6}}):
        changed = run({**cfg, **change}, REPO, tracking=False)
        assert changed["trained_now"] and changed["data_key"] != second["data_key"]


# ------------------------------------------------------------------------------------ failed runs

def test_a_failed_run_leaves_the_finished_run_byte_identical(tmp_path):
    cfg = composed(*SMOKE, f"runs_dir={tmp_path / 'runs'}")
    first = run(cfg, REPO, tracking=False)
    ckpt, data = Path(first["checkpoint"]) / "model.safetensors", Path(first["data_dir"]) / "train.jsonl"
    before = {p: sha(p) for p in files(tmp_path / "runs")}

    bad = composed(*SMOKE, "augmentation.max_tokens=10", f"runs_dir={tmp_path / 'runs'}")
    with pytest.raises(ConfigError, match=r"augmentation\.max_tokens=10"):
        run(bad, REPO, tracking=False)
    assert {p: sha(p) for p in files(tmp_path / "runs")} == before  # nothing changed, nothing added

    again = run(cfg, REPO, tracking=False)
    assert not again["trained_now"] and again["final_loss"] == first["final_loss"]
    assert sha(ckpt) == before[ckpt] and sha(data) == before[data] and data.stat().st_size > 0
    assert sha(Path(again["run_dir"]) / "checkpoint" / "model.safetensors") == before[ckpt]


# ------------------------------------------------------------------------------------- validation

@pytest.mark.parametrize("override,key", [
    ("train.batch_size=0", "train.batch_size"),
    ("train.batch_size=-2", "train.batch_size"),
    ("train.lr=-1", "train.lr"),
    ("train.lr=abc", "train.lr"),
    ("train.grad_accum=0", "train.grad_accum"),
    ("train.epochs=0", "train.epochs"),
    ("train.max_steps=-1", "train.max_steps"),
    ("train.warmup_ratio=2", "train.warmup_ratio"),
    ("dataset.limit=0", "dataset.limit"),
    ("deepspeed=zero2 deepspeed.nproc=0", "deepspeed.nproc"),
    ("model.max_len=abc", "model.max_len"),
    ("augmentation.max_count=0", "augmentation.max_count"),
    ("augmentation.max_tokens=10", "augmentation.max_tokens"),  # a budget no example fits
    ("seed=-1", "seed"),
    ("+judge.concurrency=4", "judge.concurrency"),  # the local judge batches; it has no request pool
    ("judge=openai +judge.concurrency=0", "judge.concurrency"),
    ("judge=openai +judge.price_per_million={input:-1,output:2}", "judge.price_per_million"),
])
def test_every_invalid_value_is_named_before_anything_is_written(override, key, tmp_path):
    root = tmp_path / "runs"
    cfg = composed("experiment=smoke", *override.split(), f"runs_dir={root}")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        run(cfg, REPO, tracking=False)
    assert not root.exists() or not any(root.rglob("*"))


def test_judge_settings_that_would_store_a_key_are_refused():
    from mosaic.settings import check

    with pytest.raises(ConfigError, match="api_key_env must be the NAME.*environment"):
        check(composed("judge=openai", "judge.api_key_env=sk-proj-abcdefghijklmnop1234"))
    with pytest.raises(ConfigError, match="base_url contains credentials"):
        check(composed("judge=openai", "judge.base_url=https://user:hunter22@example.org/v1"))
    with pytest.raises(ConfigError, match="base_url contains credentials"):
        check(composed("judge=openai", "judge.base_url='https://example.org/v1?api_key=abc'"))
    check(composed("judge=openai", "judge.api_key_env=MY_JUDGE_KEY"))


# -------------------------------------------------------------------------------------- credentials

def hydra_run(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "experiments" / "run.py"), *args,
                           f"runs_dir={tmp_path / 'runs'}", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
                           f"hydra.run.dir={tmp_path / 'outputs' / 'hydra'}",
                           f"hydra.sweep.dir={tmp_path / 'outputs' / 'multirun'}"],
                          cwd=tmp_path, capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_a_key_is_written_nowhere_sweep_or_environment(tmp_path):
    secret, env_secret = "sk-sweep-Secret-0123456789abcdef", "sk-env-Secret-0123456789abcdef"
    sweep = hydra_run(tmp_path, "-m", *SMOKE, "train.max_steps=1", "train.lr=1e-3,2e-3", f"+judge.api_key={secret}")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    single = hydra_run(tmp_path, *SMOKE, "train.max_steps=1", "judge=openai", "judge.api_key_env=MOSAIC_TEST_KEY",
                       env={"MOSAIC_TEST_KEY": env_secret})
    assert single.returncode == 0, single.stderr[-3000:]

    written = files(tmp_path)
    assert any(p.name == "multirun.yaml" for p in written) and any(p.name == "overrides.yaml" for p in written)
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "mlruns").is_dir()
    for p in written:
        blob = p.read_bytes()
        assert secret.encode() not in blob and env_secret.encode() not in blob, p
    for out in (sweep, single):
        assert secret not in out.stdout + out.stderr and env_secret not in out.stdout + out.stderr

    import mlflow
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("smoke").experiment_id])
    parent = next(r for r in runs if r.data.tags.get("sweep") == "true")
    assert "+judge.api_key" not in parent.data.tags["sweep_overrides"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2 and all(r.data.params["judge.api_key"] == "***" for r in children)
    # each job's own command line is recorded (the trail from a result back to how it was run), keyless
    swept = sorted(float(o.split("=")[1]) for r in children for o in json.loads(r.data.tags["hydra_overrides"])
                   if o.startswith("train.lr="))
    assert swept == [1e-3, 2e-3] and all("api_key" not in r.data.tags["hydra_overrides"] for r in children)


@pytest.mark.parametrize("override", ["judge.api_key_env=sk-proj-abcdefghijklmnop1234",
                                      "judge.base_url=https://user:pw-abcdefghijkl@example.org/v1"])
def test_a_key_in_the_wrong_setting_is_refused_before_hydra_writes(tmp_path, override):
    out = hydra_run(tmp_path, "judge=openai", *SMOKE, override)
    assert out.returncode == 2 and "environment" in out.stderr
    value = override.split("=", 1)[1]
    assert value not in out.stderr and not any(value.encode() in p.read_bytes() for p in files(tmp_path))


# ------------------------------------------------------------------------------ kills and locks

def test_a_killed_run_resumes_and_its_temporaries_are_removed(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"TMPDIR": str(scratch)}
    args = ("experiment=smoke", "augmentation=none", "dataset.limit=64", "train.batch_size=1", "train.max_steps=40",
            "train.save_every=1")
    proc = subprocess.Popen([sys.executable, str(REPO / "experiments" / "run.py"), *args,
                             f"runs_dir={tmp_path / 'runs'}", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
                             f"hydra.run.dir={tmp_path / 'outputs'}"], cwd=tmp_path, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    train = tmp_path / "runs" / "stages" / "train"
    while proc.poll() is None and not list(train.glob(".*.work/train_state.pt")):
        time.sleep(0.05)  # waits for an event (the first resume state on disk), not for a deadline
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (work,) = train.glob(".*.work")
    # what a kill at another moment leaves: an atomic_open temporary, torch.save's, an engine scratch dir
    (work / ".record.json.abc123.tmp").write_text("{")
    (work / ".train_state.pt.xyz.tmp").write_bytes(b"partial")
    (work / "mosaic-rows-999999999-dead").mkdir()

    out = subprocess.run([sys.executable, str(REPO / "experiments" / "run.py"), *args,
                          f"runs_dir={tmp_path / 'runs'}", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
                          f"hydra.run.dir={tmp_path / 'outputs'}"], cwd=tmp_path, env={**os.environ, **env},
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    leftovers = [p for p in (tmp_path / "runs").rglob("*") if p.name.endswith(".tmp") or ".work" in p.name
                 or p.name.startswith("mosaic-rows-") or p.name.endswith(".lock")]
    assert leftovers == [] and list(scratch.iterdir()) == []  # nothing in the system temp folder either
    (record,) = [json.loads(p.read_text()) for p in train.glob("*/record.json")]
    assert record["cost"]["optimizer_steps"] == 40  # resumed: every planned step, none twice


def test_scratch_directories_of_dead_processes_are_removed(tmp_path):
    from mosaic.augment.engine import scratch_dir

    (tmp_path / "mosaic-rows-999999999-dead").mkdir()
    (tmp_path / f"mosaic-rows-{os.getpid()}-alive").mkdir()
    with scratch_dir(tmp_path) as mine:
        assert Path(mine).name.startswith(f"mosaic-rows-{os.getpid()}-")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"mosaic-rows-{os.getpid()}-alive"]


def test_a_second_process_on_the_same_stage_waits_for_the_lock(tmp_path):
    stage = Stage(tmp_path, "train", "k" * 16)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from mosaic.stages import Stage\n"
        f"s = Stage(Path({str(tmp_path)!r}), 'train', {'k' * 16!r})\n"
        "with s.claim():\n    print('held', flush=True); sys.stdin.readline()\n")],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(StageBusy, match=f"pid {holder.pid}"):
        with stage.claim(wait=False):
            pass
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait()
    with stage.claim(wait=False) as work:  # released: the next process gets it
        assert work.is_dir()
    assert not stage.lockfile.exists()
    with hold_lock(tmp_path / "x.lock", "x"):
        assert (tmp_path / "x.lock").read_text() == str(os.getpid())


def test_the_run_index_moves_an_earlier_layout_aside(tmp_path):
    cfg = composed(*SMOKE, f"runs_dir={tmp_path / 'runs'}")
    old = tmp_path / "runs" / cfg["study"] / cfg["run_name"]
    (old / "checkpoint").mkdir(parents=True)
    (old / "checkpoint" / "model.safetensors").write_bytes(b"old weights")
    (old / "record.json").write_text("{}")
    record = run(cfg, REPO, tracking=False)
    assert (old / "previous-layout" / "checkpoint" / "model.safetensors").read_bytes() == b"old weights"
    assert (old / "checkpoint").is_symlink() and Path(record["checkpoint"]).samefile(old / "checkpoint")


def test_secret_overrides_leave_the_command_line():
    from mosaic.secrets import ENV_PREFIX, restore_secrets, take_secret_overrides

    env = {}
    argv = take_secret_overrides(["-m", "experiment=smoke", "+judge.api_key=sk-abcdefghijklmnop", "tokenizer=x"], env)
    assert argv == ["-m", "experiment=smoke", "tokenizer=x"] and env == {ENV_PREFIX + "judge__api_key": "sk-abcdefghijklmnop"}
    assert restore_secrets({"judge": {"kind": "openai"}}, env)["judge"] == {"kind": "openai",
                                                                             "api_key": "sk-abcdefghijklmnop"}
    with pytest.raises(ValueError, match="environment"):
        take_secret_overrides(["hydra.job.env_set.HF_TOKEN=hf_abcdefghijklmnop"], {})
