"""Grouping examples into rows: next-fit packing in the given order (shared by training and cost accounting)."""
from __future__ import annotations

from typing import Sequence


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
