"""Held-out examples for the judge-free quality measures (issue 14): bundled rows that no training
subset takes, and mosaic samples built from them.

``sources.subset`` keeps the N rows with the smallest SHA-256 of their ids; the held-out set is the n
rows with the largest, so ``bundled@N`` and the held-out set are disjoint while N + n <= 628. A run's
training ids are still checked against it (:func:`check_unseen`): another spec may contain any row.
"""
from __future__ import annotations

import hashlib
from typing import Iterable

from .records import Example
from .sources import resolve_examples

SOURCE = "bundled"


def heldout_examples(n: int, source: str = SOURCE) -> list[Example]:
    """The ``n`` examples of ``source`` with the largest SHA-256 of their ids, in file order."""
    rows = list(resolve_examples(source))
    if n > len(rows):
        raise ValueError(f"probe.examples={n}: {source!r} has only {len(rows)} examples")
    order = sorted(range(len(rows)), key=lambda i: hashlib.sha256(rows[i].id.encode()).digest(), reverse=True)
    keep = set(order[:n])
    return [r for i, r in enumerate(rows) if i in keep]


def trained_ids(samples: Iterable[dict]) -> set[str]:
    """Source example ids in training samples: a mosaic sample's ``provenance.source_ids``, else its ``id``."""
    out: set[str] = set()
    for s in samples:
        prov = s.get("provenance") or {}
        out.update(prov.get("source_ids") or [s["id"]])
    return out


def check_unseen(heldout: Iterable[Example], train_samples: Iterable[dict], where: str) -> None:
    """Raise ValueError naming the held-out ids that ``where``'s training samples contain."""
    seen = trained_ids(train_samples) & {e.id for e in heldout}
    if seen:
        ids = sorted(seen)
        raise ValueError(f"{where}: {len(ids)} held-out example(s) are in the training data (first: {ids[:5]}); "
                         "train on a smaller subset (dataset.limit) or lower probe.examples")
