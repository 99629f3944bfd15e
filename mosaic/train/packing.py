"""Grouping examples into rows (shared by training and cost accounting).

``best_fit_decreasing`` is the packing the ``packed`` regime uses: longest examples first, each into
the fullest row it still fits, which leaves a few percent of a row empty where next-fit leaves tens
of percent on long-tailed data such as mosaic samples. ``next_fit`` keeps the given order.
"""
from __future__ import annotations

import bisect
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
MEGABATCH = 50  # micro-batches per sorting window, as in Transformers' length-grouped sampler


def next_fit(lengths: Sequence[int], max_len: int) -> list[list[int]]:
    """Indices of the examples in each row; a row is closed when the next example does not fit."""
    rows: list[list[int]] = []
    used = max_len + 1
    for i, n in enumerate(lengths):
        if n > max_len:
            raise ValueError(f"example {i} has {n} tokens, more than max_len={max_len}")
        if used + n > max_len:
            rows.append([])
            used = 0
        rows[-1].append(i)
        used += n
    return rows


def best_fit_decreasing(lengths: Sequence[int], max_len: int) -> list[list[int]]:
    """Indices of the examples in each row; ties keep the given order, so a shuffle upstream decides them."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (space left, row), sorted
    for i in order:
        n = lengths[i]
        if n > max_len:
            raise ValueError(f"example {i} has {n} tokens, more than max_len={max_len}")
        k = bisect.bisect_left(free, (n, -1))
        if k < len(free):
            space, r = free.pop(k)
        else:
            space, r = max_len, len(rows)
            rows.append([])
        rows[r].append(i)
        bisect.insort(free, (space - n, r))
    return rows


def length_grouped(rows: Sequence[T], batch_size: int, length: Callable[[T], int]) -> list[T]:
    """Rows sorted longest-first inside windows of ``MEGABATCH`` micro-batches (less padding, still shuffled)."""
    window = batch_size * MEGABATCH
    return [r for k in range(0, len(rows), window) for r in sorted(rows[k:k + window], key=length, reverse=True)]
