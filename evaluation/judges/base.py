"""The judge interface adapters rely on, and the on-disk judgment cache shared by every judge kind.

A judge turns chat messages into text. Adapters (AlpacaEval, MT-Bench, pairwise) only see this
interface, so a GPT-4-class API, a vLLM/``evaluation.server`` endpoint and an in-process model are
interchangeable, and ``identity()`` (stored with every result) says which one produced a number.
"""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..generation import JsonlStore


@runtime_checkable
class Judge(Protocol):
    def complete(self, messages: list[dict], *, max_tokens: int, temperature: float | None = None) -> str:
        """The judge's reply to chat messages ({role, content}); temperature None = the judge's configured one."""
        ...

    def identity(self) -> dict:
        """kind, model, base_url, template, temperature, seed (never a key): stored with every result."""
        ...


def complete_all(judge, conversations: list[list[dict]], *, max_tokens: int, temperature: float | None = None
                 ) -> list[str]:
    """Many judgments in input order: batched (the local judge) or concurrent (the OpenAI one) where the judge
    has ``complete_many``, one at a time otherwise."""
    if hasattr(judge, "complete_many"):
        return judge.complete_many(conversations, max_tokens=max_tokens, temperature=temperature)
    return [judge.complete(c, max_tokens=max_tokens, temperature=temperature) for c in conversations]


class JudgeUnavailable(RuntimeError):
    """The judge endpoint kept failing or refused the request; cached judgments are kept, the evaluation stops."""


class JudgmentCache:
    """JSONL of (key, text), so a judgment is paid for once. Appends are single fsynced writes and a torn
    last line (a killed run) is skipped, so a killed evaluation resumes where it stopped."""

    def __init__(self, path: str | Path | None):
        self.store = JsonlStore(path)
        self.entries: dict[str, str] = {}
        for row in self.store.load():
            if isinstance(row.get("key"), str) and isinstance(row.get("text"), str):
                self.entries[row["key"]] = row["text"]

    @property
    def path(self) -> Path | None:
        return self.store.path

    @staticmethod
    def key(*parts) -> str:
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def put(self, key: str, text: str) -> None:
        self.entries[key] = text
        self.store.append([{"key": key, "text": text}])


def uncached(keys: list[str], cache: "JudgmentCache") -> dict[str, int]:
    """{key: index of its first conversation} for the keys the cache lacks: each is requested once."""
    todo: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k not in todo and cache.get(k) is None:
            todo[k] = i
    return todo


def run_bounded(tasks: list, limit: int) -> None:
    """Call every task with at most ``limit`` running at once. After the first failure no task starts;
    the running ones finish (their results are kept by the tasks themselves), then the failure of the
    earliest task in list order is raised, so the error does not depend on timing."""
    if limit == 1 or len(tasks) <= 1:
        for task in tasks:
            task()
        return
    pool = ThreadPoolExecutor(max_workers=min(limit, len(tasks)), thread_name_prefix="judge")
    try:
        futures = [pool.submit(t) for t in tasks]
        wait(futures, return_when=FIRST_EXCEPTION)
        for f in futures:
            f.cancel()  # only those not started; the running ones finish
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for f in futures:
        if not f.cancelled() and f.exception() is not None:
            raise f.exception()
