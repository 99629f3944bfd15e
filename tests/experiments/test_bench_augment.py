"""The augmentation benchmark runs end to end on a small case and records what the README reports."""
import json
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "experiments"))

import bench_augment  # noqa: E402


def test_longtail_lengths_have_the_documented_shape():
    rng = random.Random(0)
    words = [sum(bench_augment.longtail_lengths(rng)) * bench_augment.TOKENS_PER_WORD for _ in range(20000)]
    assert 0.07 < sum(w > 700 for w in words) / len(words) < 0.13
    assert 250 < sum(words) / len(words) < 350


def test_small_run_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(REPO / "experiments" / "bench_augment.py"), "--rows", "300",
                        "--datasets", "longtail", "--repeats", "1", "--json", str(out)],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    case = json.loads(out.read_text())["cases"][0]
    assert case["dataset"] == "longtail" and case["rows"] == 300 and len(case["load_avg_1min"]) == 2
    assert case["floor"]["lengths"]["rows"] == 300 and case["mosaic"]["samples"] > 0
    assert case["ratio"] > 0 and case["cpu_ratio"] > 0 and 0 < case["mosaic"]["startup_s"]
    assert case["mosaic"]["rss_mb"] > 0 and "targets (longtail)" in r.stdout
