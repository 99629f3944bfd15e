"""The committed study stays finished: composing its runs today gives the run keys recorded in
results/runs.json, so a second `make reproduce` on the store that made results/ does no work. A new
config key with a default (conf/eval/*.yaml, conf/config.yaml) changes every run key; new keys must be
optional (absent = the default) unless the study is rerun and results/ rebuilt."""
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "experiments"))


def test_every_committed_run_key_is_what_its_config_composes_to_today():
    from mosaic.hardware import bf16_supported, cuda_available

    if cuda_available() or not bf16_supported("cpu"):  # training keys include the resolved device and precision
        pytest.skip("results/ were made on a CPU with bf16 kernels; this machine's training keys differ")
    import reproduce
    from mosaic.stages import stage_keys
    from study_plan import SIZES, arms

    summary = json.loads((REPO / "results" / "summary.json").read_text())
    trail = json.loads((REPO / "results" / "runs.json").read_text())
    size = next((s for s in SIZES.values() if reproduce.compose(s.experiment, [])["study"] == summary["study"]), None)
    if size is None:
        pytest.skip(f"results/ holds study {summary['study']!r}, not one of make reproduce's sizes")
    recorded = {e["run_name"]: e["stage_keys"]["run_key"] for e in trail["runs"].values() if e["kind"] == "training"}
    for _, _, arm in arms(size):
        cfg = reproduce.compose(size.experiment, arm)
        assert stage_keys(cfg).run == recorded[cfg["run_name"]], (cfg["run_name"], arm)
