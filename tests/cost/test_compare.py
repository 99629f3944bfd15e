"""The original-vs-Mosaic cost comparison, on tiny hand-made lengths and end to end through the CLI."""
import json
import subprocess
import sys

import pytest

from mosaic.cost.compare import compare_costs
from mosaic.cost.flops import ModelShape

SHAPE = ModelShape(n_layers=2, d_model=8, n_heads=2, n_kv_heads=2, d_ff=16, vocab=32)


def test_static_padding_makes_fewer_longer_sequences_look_cheaper():
    original = [100] * 40  # 40 short examples, 3 epochs -> 120 sequences
    mosaic = [400] * 40  # the same tokens 4/3 times over, four per sample
    r = compare_costs(original, mosaic, epochs=3, mosaic_epochs=1, max_len=512, batch_size=4, grad_accum=1,
                      shape=SHAPE)
    q = r["mosaic_over_original"]
    assert q["static_pad"]["sequences"] == pytest.approx(40 / 120)
    assert q["static_pad"]["flops_executed"] == pytest.approx(40 / 120)
    assert q["dynamic"]["processed_tokens"] == pytest.approx(16000 / 12000)
    assert q["dynamic"]["flops_executed"] > q["dynamic"]["processed_tokens"]  # longer rows, quadratic attention
    assert q["packed"]["real_tokens"] == pytest.approx(16000 / 12000)


def test_the_comparison_is_seeded():
    lengths = [5, 40, 12, 70, 33, 8, 21, 64] * 3
    a, b = (compare_costs(lengths, lengths[:12], epochs=2, mosaic_epochs=1, max_len=128, batch_size=3, grad_accum=1,
                          shape=SHAPE, seed=s) for s in (1, 1))
    assert a == b


def test_cost_command_end_to_end(tmp_path):
    out, table = tmp_path / "m.jsonl", tmp_path / "cost.json"
    subprocess.run([sys.executable, "-m", "mosaic.cli", "augment", "--input", "bundled", "--output", str(out),
                    "--passes", "2", "--quiet"], check=True, capture_output=True)
    r = subprocess.run([sys.executable, "-m", "mosaic.cli", "cost", "--original", "bundled", "--mosaic", str(out),
                        "--epochs", "2", "--json", str(table)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "| static_pad |" in r.stdout and "Mosaic-IT / original" in r.stdout
    result = json.loads(table.read_text())
    assert {row["regime"] for row in result["rows"]} == {"static_pad", "dynamic", "packed"}
    # every example twice in both variants; a mosaic sample shares one system prompt/template (~36 tokens)
    # among several examples, which outweighs its tags and meta-instructions, so it has fewer real tokens
    assert 0.7 < result["mosaic_over_original"]["packed"]["real_tokens"] < 1.0
