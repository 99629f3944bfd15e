"""Data written by this project and shipped with the package (see docs/data.md).

``instructions.jsonl``: general-purpose Alpaca-format instruction/response pairs (with a
``category`` field), written for the CPU-scale reproduction. Verifiable tasks are generated
by :mod:`mosaic.data.verifiable` rather than stored.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTRUCTIONS = HERE / "instructions.jsonl"
