"""Verifiable tasks and their generation: ``VerifiableTask``, the canonical task key and the split it fixes
(``split_of``: about 20% ``heldout``, a pure function of the key), task ids, ``generate`` (n distinct tasks of
a split, families interleaved round-robin, deterministic for its arguments) and ``to_record`` (a task as a
canonical training record).
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Sequence

from .families import BUILDERS, FAMILIES


@dataclass(frozen=True, slots=True)
class VerifiableTask:
    id: str            # "vt-<family>-<8 hex digits of sha256(key)>"
    family: str        # one of FAMILIES
    instruction: str   # the task statement, explicit about the answer format
    input: str         # "" or the data to operate on
    answer: str        # canonical exact answer; also the training output


SPLITS = ("train", "heldout")
HELDOUT_FRACTION = 0.2

# attempts allowed per family: generous (about 5 candidates per heldout task are expected)
_ATTEMPTS_BASE = 200
_ATTEMPTS_PER_TASK = 40


def _digest(task_key: str) -> bytes:
    return hashlib.sha256(task_key.encode("utf-8")).digest()


def split_of(task_key: str) -> str:
    """``"heldout"`` for about 20% of keys, else ``"train"``; a pure function of the key."""
    bucket = int.from_bytes(_digest(task_key)[:8], "big") % 10_000
    return "heldout" if bucket < HELDOUT_FRACTION * 10_000 else "train"


def task_key(family: str, params: str) -> str:
    return f"{family}|{params}"


def _task_id(family: str, key: str) -> str:
    return f"vt-{family}-{_digest(key)[-4:].hex()}"


def _family_tasks(family: str, split: str, count: int, seed: int) -> list[VerifiableTask]:
    builder = BUILDERS[family]
    out: list[VerifiableTask] = []
    seen_keys: set[str] = set()
    seen_text: set[tuple[str, str]] = set()
    limit = _ATTEMPTS_BASE + _ATTEMPTS_PER_TASK * count
    attempt = 0
    while len(out) < count:
        if attempt >= limit:
            raise ValueError(
                f"verifiable family {family!r} ran dry: only {len(out)} of {count} distinct "
                f"{split!r} tasks after {limit} attempts (seed={seed})")
        rng = random.Random(f"{seed}:{family}:{attempt}")
        attempt += 1
        built = builder(rng)
        if built is None:
            continue
        params, instruction, inp, answer = built
        key = task_key(family, params)
        if key in seen_keys or split_of(key) != split:
            continue
        seen_keys.add(key)
        if (instruction, inp) in seen_text:
            continue
        seen_text.add((instruction, inp))
        out.append(VerifiableTask(_task_id(family, key), family, instruction, inp, answer))
    return out


def generate(split: str, n: int, seed: int = 0,
             families: Sequence[str] | None = None) -> list[VerifiableTask]:
    """n distinct tasks of the split, families interleaved round-robin, deterministic for
    (split, n, seed, families)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(families, str):
        families = [families]
    fams = list(dict.fromkeys(FAMILIES if families is None else families))
    unknown = [f for f in fams if f not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown verifiable families {unknown}; known: {', '.join(FAMILIES)}")
    if not fams:
        raise ValueError("families must name at least one family")
    k = len(fams)
    per_family = [_family_tasks(f, split, n // k + (i < n % k), seed) if n else []
                  for i, f in enumerate(fams)]
    return [per_family[i % k][i // k] for i in range(n)]


def to_record(task: VerifiableTask) -> dict:
    return {"id": task.id, "instruction": task.instruction, "input": task.input,
            "output": task.answer, "source": f"verifiable/{task.family}"}
