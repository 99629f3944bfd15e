"""Resolve an input spec to a stream of examples: a file path, ``bundled``, ``verifiable[:N]`` or ``hub:NAME``."""
from __future__ import annotations

from typing import Iterator

from .bundled import INSTRUCTIONS
from .errors import ErrorReport
from .loaders import load_records, to_examples
from .records import Example

SPECS = ("bundled", "verifiable[:N]", "hub:NAME[=LOCAL_PATH]", "<path to .json/.jsonl>")


def resolve_examples(spec: str, fmt: str = "auto", report: ErrorReport | None = None,
                     multi_turn: str = "first", stats: dict | None = None) -> Iterator[Example]:
    report = report or ErrorReport()
    if spec == "bundled":
        return to_examples(load_records(INSTRUCTIONS, "alpaca", report, source="bundled"), multi_turn, stats)
    if spec == "verifiable" or spec.startswith("verifiable:"):
        from .verifiable import generate, to_record

        n = int(spec.partition(":")[2] or 2000)
        return (Example(id=r["id"], instruction=r["instruction"], input=r["input"], output=r["output"],
                        source=r["source"]) for r in map(to_record, generate("train", n)))
    if spec.startswith("hub:"):
        from .hub import load_hub

        name, _, local = spec[4:].partition("=")
        return to_examples(load_hub(name, local or None, report=report), multi_turn, stats)
    return to_examples(load_records(spec, fmt, report), multi_turn, stats)
