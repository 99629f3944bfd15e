"""build_report on a small store written directly: every file, the verdicts for known evidence, the
trail, and a byte-identical rebuild through experiments/report.py."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mosaic.report import build_report

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(fake_store, tmp_path_factory):
    uri, study, ids = fake_store
    out = tmp_path_factory.mktemp("results")
    summary = build_report(study, uri, out)
    return out, summary, ids, uri, study


def test_files(built):
    out, summary, ids, _, _ = built
    names = {p.name for p in (out / "tables").iterdir()}
    for t in ("table1", "judging", "mt_bench_turns", "strategy_ablation", "cost", "mosaic_bench", "sweep_0_sweep-x"):
        assert {f"{t}.md", f"{t}.csv", f"{t}.tex"} <= names, t
    assert {p.name for p in (out / "figures").iterdir()} == {
        "count_distributions.png", "loss_curves.png", "cost_ratio.png", "mosaic_bench.png"}
    assert json.loads((out / "summary.json").read_text())["runs"] == summary["runs"]
    assert summary["runs"]["none/s0"] == ids["tiny-none-s0"]  # the newest run of (none, 0)
    assert set(summary["runs"]) == ({f"{v}/s{s}" for v in ("none", "all") for s in range(3)} | {"primary/s0"}
                                    | {f"{v}/s{s}" for v in ("template_random", "none_compute_matched") for s in (0, 1)})
    assert summary["seeds"]["all"] == [0, 1, 2] and summary["seeds"]["template_random"] == [0, 1]


def test_tables_follow_registry_and_store(built):
    out = built[0]
    t1 = (out / "tables" / "table1.md").read_text().splitlines()
    assert [row.split(" | ")[0].lstrip("| ") for row in t1 if row.startswith("| ") and "---" not in row][1:] == \
        ["none", "all", "primary", "none_compute_matched", "template_random"]
    assert t1[4] == ("| variant | seeds | pairwise winning score | AlpacaEval win rate | AlpacaEval LC win rate | "
                     "MT-Bench | lm-eval average | mosaic-bench structure | mosaic-bench accuracy |")
    judging = (out / "tables" / "judging.md").read_text()
    assert "| variant | judge | pairwise | alpaca_eval | mt_bench |" in judging  # adapters with a parse rate
    sweep = (out / "tables" / "sweep_0_sweep-x.md").read_text()
    assert "param augmentation" in sweep and "lm_eval/average" in sweep and "standard_error" not in sweep
    assert "| primary | format | permute |" not in (out / "tables" / "strategy_ablation.md").read_text()


def test_verdicts(built):
    report = (built[0] / "REPORT.md").read_text()
    rows = {line.split(" | ")[0][2:]: line for line in report.splitlines() if line.startswith("| ")}
    pipeline = ("pipeline check: the local judge cannot judge (it parsed {}% of its judgments); a result needs "
                "`judge=openai` |")
    assert rows["better AlpacaEval win rate"].endswith(pipeline.format(90))
    assert rows["better MT-Bench score"].endswith(pipeline.format(10))
    assert "winning score 1.450 ± 0.124 (n=3; 1.0 = parity) | " + pipeline.format(80) in \
        rows["better pairwise winning score vs original"]
    cost = rows["80% lower training cost"]  # measured 0.011 / 0.010 device-hours in every seed
    assert "measured on this study's training runs (dynamic batching, 3 seeds): Mosaic-IT / original device-hours " \
           "1.10x [1.10, 1.10]; wall time 1.10x [1.10, 1.10]" in cost
    assert "plan arithmetic, not a measurement" in cost and "static_pad 0.25x tokens / 0.25x device-hours" in cost
    assert cost.endswith("| contradicted under dynamic batching: the whole interval is above 0.22x |")
    assert "mosaic-bench structure accuracy, one seed each: all (0.121) > primary (0.110)" in \
        rows["strategy ranking (all strategies best)"]
    assert rows["strategy ranking (all strategies best)"].endswith(  # one seed per variant: no ranking verdict
        "| not tested: 1 seed(s) per variant, a ranking needs at least 3 with intervals (the order shown is "
        "indicative only) |")
    follow = rows["(new) Mosaic-IT teaches following multi-instruction meta-instructions"]
    assert "held-out vocabulary, Mosaic-IT minus original IT: +0.500 [" in follow  # 24/40 - 4/40; train items not counted
    assert "3 seeds x 40 items" in follow and "| supported at this scale (Holm-adjusted p = " in follow
    lm = rows["better lm-eval (Open LLM Leaderboard role)"]  # the item-level row replaces the seed-level one
    assert "+0.000 [" in lm and lm.endswith("| inconclusive: the 95% interval includes 0 |")
    assert "better lm-eval average (Open LLM Leaderboard role)" not in rows
    conv = rows["faster convergence (Figure 4, judge-free)"]  # replaces the untestable training-loss row
    assert "faster convergence (Figure 4)" not in rows
    assert "over the first 300 real training tokens" in conv and "Mosaic-IT minus original IT: +0.075 [+0.075" in conv
    assert "| contradicted at this scale: Mosaic-IT is worse than original IT" in conv  # 1.925 vs 1.85
    tr = "(reviewers) Mosaic-IT beats template randomisation (meta-instructions without composition): "
    assert "Mosaic-IT minus template randomisation: -0.065 [" in rows[tr + "held-out response loss"]
    assert "| supported at this scale" in rows[tr + "held-out response loss"]
    assert "+0.000 [+0.000, +0.000] (2 seeds x 20 items" in rows[tr + "held-out verifiable tasks"]
    cm = "(reviewers) Mosaic-IT beats the compute-matched original (as many real tokens): "
    assert "| contradicted at this scale: Mosaic-IT is worse than compute-matched original IT" in \
        rows[cm + "held-out response loss"]


def test_summary_holds_every_claim_with_its_numbers(built):
    out, summary, ids, _, _ = built
    saved = json.loads((out / "summary.json").read_text())
    report = (out / "REPORT.md").read_text()
    for cid, c in saved["claims"].items():  # every REPORT.md row is in summary.json, word for word
        assert f"| {c['paper']} | {c['evidence']} | {c['verdict']} |" in report, cid
    assert saved["claims"]["convergence"]["numbers"]["real_tokens"] == 300
    assert saved["claims"]["template_random_heldout_nll"]["numbers"]["arms"] == ["all", "template_random"]
    cost = saved["cost"]
    assert cost["plan_run_id"] == ids["cost"] and cost["verdict"] == "contradicted"
    assert cost["measured"]["device_hours_ratio"]["estimate"] == pytest.approx(1.1)
    assert cost["plan_arithmetic"]["static_pad"]["processed_tokens"] == 0.25
    assert saved["claims"]["training_cost"]["numbers"]["measured"] == cost["measured"]


def test_trail(built):
    out, summary, ids, _, _ = built
    trail = json.loads((out / "runs.json").read_text())
    runs = trail["runs"]
    assert ids["old-none-s0"] not in runs and ids["unfinished"] not in runs
    used = {i for k, i in ids.items() if k not in ("old-none-s0", "unfinished")}
    assert set(runs) == used
    e = runs[ids["tiny-all-s1"]]
    assert e == {"kind": "training", "run_name": "tiny-all-s1", "variant": "all", "seed": 1, "parent_run_id": None,
                 "stage_keys": {"stage_layout": "2", "data_key": "d-all-1", "train_key": "t-all-1", "run_key": "r-all-1",
                                "eval_key": None},
                 "config": {"augmentation": {"name": "all"}, "seed": 1}, "config_source": "config.json",
                 "hydra_overrides": ["augmentation=all", "seed=1"], "git_commit": "abc123", "data_hash": "h-all",
                 "checkpoint_hash": "c-all-1"}
    assert runs[ids["tiny-all-s0"]]["hydra_overrides"] is None  # a run logged without the tag
    assert runs[ids["cost"]]["config"]["model"] == "tiny" and runs[ids["cost"]]["stage_keys"] == {"cost_key": "k-cost"}
    assert runs[ids["sweep"]]["kind"] == "sweep" and runs[ids["sweep"]]["sweep"]["params"] == {"augmentation": "primary,all"}
    assert runs[ids["job-all"]]["parent_run_id"] == ids["sweep"]
    tables = trail["tables"]
    assert tables["table1"]["all"] == sorted(ids[f"tiny-all-s{s}"] for s in range(3))
    assert tables["cost"]["plan / static_pad / Mosaic/original"] == [ids["cost"]]
    assert tables["cost"]["measured / dynamic / Mosaic/original"] == sorted(ids[f"tiny-{v}-s{s}"] for v in ("none", "all")
                                                                           for s in range(3))
    assert tables["sweep_0_sweep-x"] == {"tiny-sweep_all-s0": [ids["job-all"]], "tiny-sweep_primary-s0": [ids["job-primary"]]}
    assert tables["mosaic_bench"]["none / permute/alpha / * / *"] == sorted(ids[f"tiny-none-s{s}"] for s in range(3))
    assert trail["claims"]["training_cost"] == sorted([ids["cost"]] + [ids[f"tiny-{v}-s{s}"] for v in ("none", "all")
                                                                       for s in range(3)])
    assert trail["figures"]["count_distributions"] == [ids["counts"]]
    mentioned = {i for rows in tables.values() for r in rows.values() for i in r} | set(summary["runs"].values())
    assert mentioned <= set(runs)


def test_rebuild_through_the_entry_point_is_byte_identical(built, tmp_path):
    out, _, _, uri, study = built
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, str(REPO / "experiments" / "report.py"), "--study", study, "--tracking-uri", uri,
                        "--results", str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after


def test_unknown_study(fake_store, tmp_path):
    with pytest.raises(SystemExit, match="no MLflow experiment 'nope'"):
        build_report("nope", fake_store[0], tmp_path)
