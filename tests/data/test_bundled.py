"""The bundled instruction data: size, shape, diversity, and that it loads through the real loader."""
import json
from collections import Counter

from mosaic.data.bundled import INSTRUCTIONS
from mosaic.data.sources import resolve_examples

CATEGORIES = {"open_qa", "explanation", "classification", "extraction", "brainstorm", "math_reasoning",
              "writing", "rewriting", "summarization", "code", "short_reasoning", "advice"}


def rows():
    return [json.loads(line) for line in INSTRUCTIONS.read_text(encoding="utf-8").splitlines()]


def test_at_least_400_valid_distinct_rows():
    data = rows()
    assert len(data) >= 400
    assert all(set(r) == {"id", "category", "instruction", "input", "output"} for r in data)
    assert all(r["instruction"].strip() and r["output"].strip() for r in data)
    assert len({r["id"] for r in data}) == len(data)
    assert len({(r["instruction"], r["input"]) for r in data}) == len(data)


def test_categories_and_inputs_are_diverse():
    data = rows()
    cats = Counter(r["category"] for r in data)
    assert set(cats) == CATEGORIES and min(cats.values()) >= 15
    with_input = sum(bool(r["input"]) for r in data)
    assert 0.25 * len(data) < with_input < 0.6 * len(data)
    lengths = sorted(len(r["output"].split()) for r in data)
    assert lengths[len(lengths) // 2] < 150  # concise responses


def test_loads_through_the_alpaca_loader():
    examples = list(resolve_examples("bundled"))
    assert len(examples) == len(rows()) and all(e.source == "bundled" for e in examples)
