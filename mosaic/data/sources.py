"""Resolve an input spec to a stream of examples: a file path, ``bundled``, ``verifiable[:N]`` or ``hub:NAME``,
optionally followed by ``@N``: a fixed subset of N examples (those with the smallest hash of their id,
so the subset is spread over the file and does not depend on row order). ``A+B`` is the examples of A
then those of B (each part with its own ``@N``); an id in both is an error."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

from .bundled import INSTRUCTIONS
from .errors import ErrorReport
from .hub import load_hub
from .loaders import load_records, to_examples
from .records import Example
from .verifiable import generate, to_record

SPECS = ("bundled", "verifiable[:N]", "hub:NAME[=LOCAL_PATH]", "<path to .json/.jsonl>", "<any of these>@N",
         "<spec>+<spec>")


def union_parts(spec: str) -> list[str] | None:
    """The parts of ``A+B`` (None for a single spec, or for an existing path that contains '+')."""
    if "+" not in spec or Path(spec).expanduser().exists():
        return None
    parts = spec.split("+")
    if not all(parts):
        raise ValueError(f"dataset spec {spec!r}: an empty part in a '+' union")
    return parts


def _union(parts: list[str], *args) -> Iterator[Example]:
    seen: dict[str, str] = {}
    for part in parts:
        for e in resolve_examples(part, *args):
            if e.id in seen:
                raise ValueError(f"dataset spec {'+'.join(parts)!r}: id {e.id!r} is in both {seen[e.id]!r} and {part!r}")
            seen[e.id] = part
            yield e


def subset(examples: Iterator[Example], n: int) -> list[Example]:
    """N examples chosen by the SHA-256 of their ids, returned in their original order."""
    rows = list(examples)
    if n >= len(rows):
        return rows
    keep = set(sorted(range(len(rows)), key=lambda i: hashlib.sha256(rows[i].id.encode()).digest())[:n])
    return [r for i, r in enumerate(rows) if i in keep]


def resolve_examples(spec: str, fmt: str = "auto", report: ErrorReport | None = None,
                     multi_turn: str = "first", stats: dict | None = None) -> Iterator[Example]:
    report = report or ErrorReport()
    parts = union_parts(spec)
    if parts:
        return _union(parts, fmt, report, multi_turn, stats)
    base, at, count = spec.rpartition("@")
    if at and count.isdigit():
        if int(count) < 1:
            raise ValueError(f"dataset subset size must be >= 1 in {spec!r}")
        return iter(subset(resolve_examples(base, fmt, report, multi_turn, stats), int(count)))
    if spec == "bundled":
        return to_examples(load_records(INSTRUCTIONS, "alpaca", report, source="bundled"), multi_turn, stats)
    if spec == "verifiable" or spec.startswith("verifiable:"):
        n = int(spec.partition(":")[2] or 2000)
        return (Example(id=r["id"], instruction=r["instruction"], input=r["input"], output=r["output"],
                        source=r["source"]) for r in map(to_record, generate("train", n)))
    if spec.startswith("hub:"):
        name, _, local = spec[4:].partition("=")
        return to_examples(load_hub(name, local or None, report=report), multi_turn, stats)
    return to_examples(load_records(spec, fmt, report), multi_turn, stats)
