"""Collators for the three batching regimes.

``pad_batch``: one example per row, right-padded to ``pad_to`` (static_pad) or to the longest row
(dynamic). ``packed_batch``: several examples per row; position ids restart at every example and a
block-diagonal causal mask (4-D, additive) stops attention across examples, so a packed row computes
exactly what its examples would compute alone. ``block_diagonal=False`` is the negative control
(plain causal attention across the whole row: examples see each other).
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
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for r, e in enumerate(examples):
        n = len(e)
        ids[r, :n] = torch.tensor(e.input_ids)
        labels[r, :n] = torch.tensor(e.labels)
        mask[r, :n] = 1
    positions = torch.arange(width).expand(len(examples), width).clone()
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "position_ids": positions}


def packed_batch(rows: Sequence[Sequence[Encoded]], pad_id: int, dtype: torch.dtype = torch.float32,
                 block_diagonal: bool = True) -> dict[str, torch.Tensor]:
    width = max(sum(len(e) for e in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    segment = torch.full((len(rows), width), -1, dtype=torch.long)  # -1 marks padding
    for r, row in enumerate(rows):
        at = 0
        for s, e in enumerate(row):
            if e.labels[0] != IGNORE:
                raise ValueError("a packed example must start with a loss-masked prompt token, or the previous "
                                 "example's last position would be trained to predict it")
            n = len(e)
            ids[r, at:at + n] = torch.tensor(e.input_ids)
            labels[r, at:at + n] = torch.tensor(e.labels)
            positions[r, at:at + n] = torch.arange(n)
            segment[r, at:at + n] = s
            at += n
    causal = torch.tril(torch.ones(width, width, dtype=torch.bool))
    if block_diagonal:
        same = segment[:, :, None] == segment[:, None, :]
        allowed = causal[None] & same
    else:
        allowed = causal[None] & (segment[:, None, :] >= 0)
    # padding rows attend to themselves only, so no softmax row is empty
    allowed = allowed | torch.eye(width, dtype=torch.bool)[None]
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)[:, None]
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "position_ids": positions}
