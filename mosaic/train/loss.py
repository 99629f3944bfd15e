"""The training loss without the whole batch's logits: next-token cross-entropy summed over labelled
positions, computed from the decoder's last hidden states a chunk of positions at a time.

A batch's logits in fp32 are batch x length x vocab x 4 bytes (4 x 2000 x 49152 x 4 B = 1.6 GB for
SmolLM2, and as much again for their gradient). Here only labelled positions are projected (the prompt
needs none), each chunk's logits are recomputed in the backward pass instead of kept
(``torch.utils.checkpoint``), so at most one chunk of logits exists at a time. The sum equals the
full-logits loss, and so do the gradients (tested to 1e-5 in fp32).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from ..hardware import autocast
from .features import IGNORE

CHUNK = 1024  # positions per chunk: 1024 x 49152 x 4 B = 200 MB of fp32 logits at a time


def _chunk_loss(hidden: torch.Tensor, head: torch.nn.Module, targets: torch.Tensor, precision: str) -> torch.Tensor:
    with autocast(hidden.device.type, precision):
        logits = head(hidden)
    return F.cross_entropy(logits.float(), targets, reduction="sum")


def chunked_loss_sum(hidden: torch.Tensor, head: torch.nn.Module, labels: torch.Tensor, precision: str = "fp32",
                     chunk: int = CHUNK) -> torch.Tensor:
    """Sum of next-token losses: position t's hidden state predicts ``labels[t + 1]``."""
    h = hidden[:, :-1].reshape(-1, hidden.size(-1))
    y = labels[:, 1:].reshape(-1)
    keep = (y != IGNORE).nonzero().squeeze(1)
    h, y = h.index_select(0, keep), y.index_select(0, keep)
    total = hidden.new_zeros((), dtype=torch.float32)
    for s in range(0, y.numel(), chunk):
        total = total + checkpoint(_chunk_loss, h[s:s + chunk], head, y[s:s + chunk], precision, use_reentrant=False)
    return total


def full_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The reference: every position's logits, upcast to fp32."""
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                           ignore_index=IGNORE, reduction="sum")
