"""Collators for the three batching regimes.

``pad_batch``: one example per row, right-padded to ``pad_to`` (static_pad) or to the longest row
(dynamic). ``packed_batch``: several examples per row, position ids restarting at every example.

Neither passes an attention mask. Right padding needs none under causal attention (a real token only
sees earlier positions, all real), so SDPA runs its causal kernel with no mask at all. In a packed row,
Transformers reads the restarting position ids as example boundaries and builds the block-diagonal
mask itself, in the form each attention implementation takes (a boolean mask for sdpa and eager,
varlen boundaries for flash_attention_2): a packed row computes what its examples would compute alone.
``block_diagonal=False`` is the negative control: an all-ones mask switches that detection off, so
examples in a row attend to each other (same position ids, only attention differs).
"""
from __future__ import annotations

from typing import Sequence

import torch

from .features import IGNORE, Encoded


def pad_batch(examples: Sequence[Encoded], pad_id: int, pad_to: int | None = None) -> dict[str, torch.Tensor]:
    width = pad_to or max(len(e) for e in examples)
    if any(len(e) > width for e in examples):
        raise ValueError(f"an example is longer than pad_to={width}")
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for r, e in enumerate(examples):
        n = len(e)
        ids[r, :n] = torch.tensor(e.input_ids)
        labels[r, :n] = torch.tensor(e.labels)
    positions = torch.arange(width).expand(len(examples), width).clone()
    return {"input_ids": ids, "labels": labels, "position_ids": positions}


def packed_batch(rows: Sequence[Sequence[Encoded]], pad_id: int, block_diagonal: bool = True) -> dict[str, torch.Tensor]:
    width = max(sum(len(e) for e in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for e in row:
            if e.labels[0] != IGNORE:
                raise ValueError("a packed example must start with a loss-masked prompt token, or the previous "
                                 "example's last position would be trained to predict it")
            n = len(e)
            ids[r, at:at + n] = torch.tensor(e.input_ids)
            labels[r, at:at + n] = torch.tensor(e.labels)
            positions[r, at:at + n] = torch.arange(n)
            at += n
        positions[r, at:] = torch.arange(width - at)  # trailing padding: one more segment, never attended to
    batch = {"input_ids": ids, "labels": labels, "position_ids": positions}
    if not block_diagonal:
        batch["attention_mask"] = torch.ones((len(rows), width), dtype=torch.long)
    return batch
