"""Data errors that name the file, row and field, and the report of rows skipped with ``on_error="skip"``."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


class DataError(ValueError):
    """A bad input row. ``row`` is 1-based (the line for JSONL, the element for a JSON array)."""

    def __init__(self, path: str | Path | None, row: int | None, field: str | None, message: str):
        self.path, self.row, self.field, self.message = (str(path) if path else None), row, field, message
        where = [p for p in (self.path, f"row {row}" if row is not None else None,
                             f"field '{field}'" if field else None) if p]
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


ON_ERROR = ("raise", "skip")


@dataclass
class ErrorReport:
    """Collects skipped rows so that nothing is dropped silently."""

    on_error: str = "raise"
    errors: list[DataError] = field(default_factory=list)
    max_kept: int = 1000  # keep the first N errors verbatim; count all of them
    count: int = 0
    by_field: Counter = field(default_factory=Counter)

    def __post_init__(self):
        if self.on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {self.on_error!r}")

    def handle(self, err: DataError) -> None:
        """Raise (default) or record the error and let the caller skip the row."""
        if self.on_error == "raise":
            raise err
        self.count += 1
        self.by_field[err.field or "<row>"] += 1
        if len(self.errors) < self.max_kept:
            self.errors.append(err)

    def summary(self) -> str:
        if not self.count:
            return "no rows skipped"
        head = "; ".join(str(e) for e in self.errors[:5])
        return f"{self.count} rows skipped (by field: {dict(self.by_field)}); first: {head}"
