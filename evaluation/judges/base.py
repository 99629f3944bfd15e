"""The judge interface adapters rely on, and the on-disk judgment cache shared by every judge kind."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol


class Judge(Protocol):
    def complete(self, messages: list[dict], *, max_tokens: int, temperature: float = 0.0) -> str: ...

    def identity(self) -> dict: ...  # kind, model, base_url, template, seed: never a key


def complete_all(judge, conversations: list[list[dict]], *, max_tokens: int, temperature: float = 0.0) -> list[str]:
    """Many judgments: batched where the judge can (the local one), one request at a time otherwise."""
    if hasattr(judge, "complete_many"):
        return judge.complete_many(conversations, max_tokens=max_tokens, temperature=temperature)
    return [judge.complete(c, max_tokens=max_tokens, temperature=temperature) for c in conversations]


class JudgeUnavailable(RuntimeError):
    """The judge endpoint kept failing; cached judgments are kept, the evaluation stops."""


class JudgmentCache:
    """JSONL of (key, text); a judgment is paid for once. A torn last line (killed run) is ignored."""

    def __init__(self, path: Path | None):
        self.path, self.entries = path, {}
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self.entries[row["key"]] = row["text"]

    @staticmethod
    def key(*parts) -> str:
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def put(self, key: str, text: str) -> None:
        self.entries[key] = text
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "text": text}, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
