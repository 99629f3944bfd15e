"""`make reproduce` shortened to the smoke model: everything lands in MLflow and results/, a second run
does no work, and the report rebuilds byte-identical tables and trail (runs.json) from MLflow alone."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def reproduce(tmp_path: Path) -> subprocess.CompletedProcess:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return subprocess.run([sys.executable, str(REPO / "experiments" / "reproduce.py"), "--size", "smoke", "-o", f"tracking.uri={uri}", "-o", f"runs_dir={tmp_path / 'runs'}",
                           "--results", str(tmp_path / "results")], cwd=REPO, capture_output=True, text=True,
                          timeout=1200)


def summary_run_ids(summary: dict) -> set[str]:
    ids = set(summary["runs"].values())
    ids |= {i for entry in summary["variants"].values() for metric in entry.values() for i in metric["run_ids"]}
    return ids | ({summary["cost"]["plan_run_id"]} if summary["cost"].get("plan_run_id") else set())


def check_trail(trail: dict, summary: dict) -> None:
    """Every run id of summary.json and of the tables' rows has an entry with a config and stage keys."""
    assert {"table1", "judging", "mt_bench_turns", "cost", "mosaic_bench"} <= set(trail["tables"])
    table_ids = {i for rows in trail["tables"].values() for ids in rows.values() for i in ids}
    assert set(trail["tables"]["table1"]) == {"none", "all", "template_random", "none_compute_matched"}
    mentioned = summary_run_ids(summary) | table_ids
    assert mentioned and mentioned <= set(trail["runs"])
    for run_id in mentioned:
        entry = trail["runs"][run_id]
        assert isinstance(entry["config"], dict) and entry["config"], run_id
        assert any(entry["stage_keys"].values()), run_id
        assert "hydra_overrides" in entry and entry["git_commit"], run_id
    for v in ("none", "all"):
        entry = trail["runs"][summary["runs"][f"{v}/s0"]]
        assert entry["variant"] == v and entry["seed"] == 0 and entry["config"]["augmentation"]["name"] == v
        assert all(entry["stage_keys"][k] for k in ("data_key", "train_key", "run_key"))
        assert entry["data_hash"] and entry["checkpoint_hash"]


def test_shortened_reproduce_then_nothing_to_do_then_identical_report(tmp_path):
    import mlflow

    first = reproduce(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "results"
    for name in ("table1", "judging", "mt_bench_turns", "cost", "mosaic_bench"):
        for ext in ("md", "csv", "tex"):
            assert (results / "tables" / f"{name}.{ext}").stat().st_size > 0
    for fig in ("count_distributions", "loss_curves", "cost_ratio", "mosaic_bench"):
        assert (results / "figures" / f"{fig}.png").stat().st_size > 0
    report = (results / "REPORT.md").read_text()
    assert "80% lower training cost" in report and "tiny_random_llama" in report
    summary = (results / "summary.json").read_text()
    assert '"none/s0"' in summary and '"all/s0"' in summary
    saved = json.loads(summary)
    assert {"template_random/s0", "none_compute_matched/s0"} <= set(saved["runs"])  # the reviewers' baselines
    assert {"heldout_nll", "convergence", "template_random_heldout_nll"} <= set(saved["claims"])
    assert "[reproduce" in first.stdout and "4/4 run(s) done" in first.stdout

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("repro-smoke")
    before = {r.info.run_id for r in client.search_runs([exp.experiment_id])}
    tables = {p.name: p.read_bytes() for p in (results / "tables").iterdir()}
    trail_bytes, report_bytes = (results / "runs.json").read_bytes(), (results / "REPORT.md").read_bytes()
    check_trail(json.loads(trail_bytes), json.loads(summary))
    second = reproduce(tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("skipped") == 6  # four runs, the cost comparison, the count distributions
    assert "every run finished earlier" in second.stdout and "throughput probe" not in second.stdout
    assert {r.info.run_id for r in client.search_runs([exp.experiment_id])} == before

    for p in (results / "tables").iterdir():
        p.unlink()
    r = subprocess.run([sys.executable, str(REPO / "experiments" / "report.py"), "--study", "repro-smoke",
                        "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--results", str(results)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert {p.name: p.read_bytes() for p in (results / "tables").iterdir()} == tables
    assert (results / "runs.json").read_bytes() == trail_bytes
    assert (results / "REPORT.md").read_bytes() == report_bytes and (results / "summary.json").read_text() == summary

    # A store of the earlier layout (training runs without stage keys): named, rerun through the stages
    # (which reuse the finished training and evaluation outputs), and the report still builds.
    training = [r for r in client.search_runs([exp.experiment_id]) if "variant" in r.data.tags]
    for r in training:
        for tag in ("stage_layout", "run_key", "train_key", "data_key"):
            client.delete_tag(r.info.run_id, tag)
    third = reproduce(tmp_path)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "4 finished run(s)" in third.stdout and "earlier layout" in third.stdout
    assert third.stdout.count("skipped") == 2  # the cost comparison and the count distributions
    after = [r for r in client.search_runs([exp.experiment_id]) if "variant" in r.data.tags]
    assert len(after) == len(training) + 4 and all(r.data.tags.get("train_reused") == "true"
                                                   for r in after if r.info.run_id not in before)
    summary = json.loads((results / "summary.json").read_text())
    assert not set(summary["runs"].values()) & before  # the report uses the newest run per variant and seed
    check_trail(json.loads((results / "runs.json").read_text()), summary)
