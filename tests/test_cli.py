import json
import subprocess
import sys

MOSAIC = [sys.executable, "-m", "mosaic.cli"]


def test_help_documents_every_option():
    out = subprocess.run(MOSAIC + ["augment", "--help"], capture_output=True, text=True, check=True).stdout
    for opt in ("--input", "--output", "--tokenizer", "--strategy", "--wrap-mode", "--max-count", "--max-tokens",
                "--passes", "--seed", "--format", "--on-error", "--multi-turn", "--template", "--vocabulary"):
        assert opt in out
    for mode in ("uniform", "fix_max", "max_length", "exp", "pareto", "lognormal", "logistic"):
        assert mode in out


def test_augment_bundled_end_to_end(tmp_path):
    out = tmp_path / "m.jsonl"
    r = subprocess.run(MOSAIC + ["augment", "--input", "bundled", "--output", str(out), "--passes", "2",
                                 "--seed", "1", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "rows in" in r.stderr and "samples out" in r.stderr and "token histogram" in r.stderr
    summary = json.loads((tmp_path / "m.summary.json").read_text())
    lines = out.read_text().splitlines()
    assert summary["samples"] == len(lines) > 0 and summary["rows_in"] >= 400
    sample = json.loads(lines[0])
    assert {"id", "instruction", "input", "output", "count", "n_tokens", "provenance"} <= set(sample)


def test_bad_input_exits_2_naming_file_row_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "", "output": "b"}\n')
    out = tmp_path / "o.jsonl"
    r = subprocess.run(MOSAIC + ["augment", "--input", str(bad), "--output", str(out), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and f"{bad}, row 2, field 'instruction': empty" in r.stderr
    assert not out.exists()
    r = subprocess.run(MOSAIC + ["augment", "--input", str(bad), "--output", str(out), "--quiet",
                                 "--on-error", "skip"], capture_output=True, text=True)
    assert r.returncode == 0 and "skipped: 1" in r.stderr


def test_hub_input_offline_fails_with_download_instructions(tmp_path):
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "MOSAIC_DATA_CACHE": str(tmp_path / "cache")}
    r = subprocess.run(MOSAIC + ["augment", "--input", "hub:wizardlm_70k", "--output", str(tmp_path / "o.jsonl"),
                                 "--quiet"], capture_output=True, text=True, env=env)
    assert r.returncode == 2
    assert "hf download WizardLMTeam/WizardLM_evol_instruct_70k --repo-type dataset" in r.stderr


def test_verifiable_input(tmp_path):
    out = tmp_path / "v.jsonl"
    r = subprocess.run(MOSAIC + ["augment", "--input", "verifiable:300", "--output", str(out), "--passes", "1",
                                 "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "v.summary.json").read_text())
    assert summary["rows_in"] == 300 and summary["rows_used"] == 300
