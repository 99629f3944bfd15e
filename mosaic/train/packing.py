"""Grouping examples into rows: next-fit packing in the given order (shared by training and cost accounting)."""
from __future__ import annotations

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


def length_grouped(rows: Sequence[T], batch_size: int, length: Callable[[T], int]) -> list[T]:
    """Rows sorted longest-first inside windows of ``MEGABATCH`` micro-batches (less padding, still shuffled)."""
    window = batch_size * MEGABATCH
    return [r for k in range(0, len(rows), window) for r in sorted(rows[k:k + window], key=length, reverse=True)]
