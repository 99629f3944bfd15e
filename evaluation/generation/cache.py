"""The on-disk generation cache: ``JsonlStore``, an append-only JSONL file that a killed process cannot
corrupt (one ``write`` and ``fsync`` per batch, a torn last line skipped on load and closed before the next
append), and ``GenerationCache``, completions by key on top of it (or in memory only). The judges reuse
``JsonlStore`` for their own verdict caches, so it lives apart from the model backends.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Sequence

from .config import Completion


class JsonlStore:
    """Append-only JSONL that a killed process cannot corrupt: each append is one ``os.write`` on an
    O_APPEND descriptor followed by ``fsync``; unreadable lines (a torn tail) are skipped on load, and an
    append after a torn tail starts on a fresh line so the new rows stay readable."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        self.lock = threading.Lock()

    def load(self) -> list[dict]:
        if self.path is None or not self.path.exists():
            return []
        rows = []
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
        return rows

    def append(self, rows: Sequence[dict]) -> None:
        if self.path is None or not rows:
            return
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # close a torn line left by a killed run
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)


class GenerationCache:
    """Completions by key; on disk when a path is given, in memory only otherwise (or not at all with
    ``memory=False``, for a long-lived server)."""

    def __init__(self, path: str | Path | None, memory: bool = True):
        self.store = JsonlStore(path)
        self.memory = memory or path is not None
        self.entries: dict[str, Completion] = {}
        for row in self.store.load():
            try:
                self.entries[row["key"]] = Completion.from_row(row)
            except (KeyError, TypeError):
                continue

    @property
    def path(self) -> Path | None:
        return self.store.path

    def get(self, key: str) -> Completion | None:
        return self.entries.get(key)

    def put(self, items: Sequence[tuple[str, Completion]]) -> None:
        if not self.memory:
            return
        for key, c in items:
            self.entries[key] = c
        self.store.append([{"key": k, **c.to_row()} for k, c in items])
