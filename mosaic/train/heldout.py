"""Held-out response loss during training: the judge-free quality and convergence measure of issue 14.

At the start, every ``every`` real training tokens (the first step at or past each multiple) and at the
end, :class:`HeldoutProbe` measures the negative log-likelihood of the responses of examples the run
never trains on (``mosaic/data/heldout.py``), per item, in each held-out set (single instructions in
the original format; mosaic samples). The x-axis is real tokens seen, not steps or "fraction of
training", so arms whose steps hold different amounts of data are compared at equal data.

Points are written to a JSON file after each measurement (atomically); a resumed run keeps the
points it has and measures only the milestones it has not reached: the same weights give the same
values, because resumed training reproduces the same steps.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from ..data.io import write_json
from ..hardware import autocast
from .collate import pad_batch
from .features import IGNORE, Encoded
from .loss import chunked_loss_sum


@dataclass(frozen=True)
class HeldoutSet:
    name: str                 # "single" (original format) | "mosaic"
    ids: list[str]
    items: list[Encoded]

    def __post_init__(self):
        if len(self.ids) != len(self.items) or not self.items:
            raise ValueError(f"held-out set {self.name!r}: {len(self.ids)} ids for {len(self.items)} items")


@torch.no_grad()
def item_nll(model, items: Sequence[Encoded], pad_id: int, precision: str = "fp32", batch_size: int = 8
             ) -> list[tuple[float, int]]:
    """(sum of response-token NLL, response tokens) per item, in ``items``' order. Rows are batched by
    length (less padding); right padding needs no mask under causal attention (train/collate.py)."""
    device = next(model.parameters()).device
    head = model.get_output_embeddings()
    order = sorted(range(len(items)), key=lambda i: len(items[i]))
    out: list[tuple[float, int]] = [(0.0, 0)] * len(items)
    for s in range(0, len(order), batch_size):
        rows = order[s:s + batch_size]
        batch = {k: v.to(device) for k, v in pad_batch([items[i] for i in rows], pad_id).items()}
        with autocast(device.type, precision):
            hidden = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False,
                           output_hidden_states=True, logits_to_keep=1).hidden_states[-1]
        for r, i in enumerate(rows):
            total = chunked_loss_sum(hidden[r:r + 1], head, batch["labels"][r:r + 1], precision)
            out[i] = (float(total), sum(1 for y in items[i].labels[1:] if y != IGNORE))
    return out


def summarise(values: Sequence[tuple[float, int]]) -> float:
    """NLL per response token over a set (token-weighted, as the training loss is)."""
    return sum(v for v, _ in values) / max(1, sum(n for _, n in values))


class HeldoutProbe:
    """Called by the recipe: :meth:`start` before the first step, :meth:`step` after each, :meth:`end`."""

    def __init__(self, sets: Sequence[HeldoutSet], every: int, path: Path, pad_id: int, precision: str = "fp32",
                 batch_size: int = 8, start_cache: Path | None = None):
        """``start_cache``: a file keyed by everything the start point depends on (the starting weights,
        the held-out items' tokens, precision, batch size; mosaic/probe.py: start_key). Every arm and
        seed of a study starts from the same weights, so the start point is measured once and read back."""
        if every < 1:
            raise ValueError(f"probe.every_real_tokens must be >= 1, got {every}")
        self.sets, self.every, self.path, self.pad_id = list(sets), every, Path(path), pad_id
        self.start_cache = Path(start_cache) if start_cache else None
        self.precision, self.batch_size = precision, batch_size
        self.points: list[dict] = json.loads(self.path.read_text())["points"] if self.path.exists() else []
        self.seen = 0

    def _done(self, milestone: int) -> bool:
        return any(p["milestone"] == milestone for p in self.points)

    def measure(self, model, step: int, milestone: int, final: bool = False) -> dict:
        t0, was_training = time.perf_counter(), model.training
        model.eval()
        try:
            sets = {}
            for hs in self.sets:
                values = item_nll(model, hs.items, self.pad_id, self.precision, self.batch_size)
                sets[hs.name] = {"nll_per_token": summarise(values),
                                 "items": {i: [v, n] for i, (v, n) in zip(hs.ids, values)}}
        finally:
            model.train(was_training)
        point = {"milestone": milestone, "step": step, "real_tokens_seen": self.seen, "final": final,
                 "seconds": round(time.perf_counter() - t0, 2), "sets": sets}
        self.points = sorted([p for p in self.points if p["milestone"] != milestone] + [point],
                             key=lambda p: (p["real_tokens_seen"], p["step"]))
        write_json(self.path, {"every_real_tokens": self.every, "points": self.points})
        print(f"[probe] step {step}, {self.seen} real tokens seen: held-out NLL "
              + ", ".join(f"{k} {v['nll_per_token']:.4f}" for k, v in sets.items()) + f" ({point['seconds']:.0f}s)",
              file=sys.stderr, flush=True)
        return point

    def start(self, model, history: Sequence[dict]) -> None:
        self.seen = sum(h["real_tokens"] for h in history)
        if history or self._done(0):
            return
        if self.start_cache is not None and self.start_cache.exists():
            point = {**json.loads(self.start_cache.read_text()), "seconds": 0.0, "cached": self.start_cache.name}
            self.points = sorted(self.points + [point], key=lambda p: (p["real_tokens_seen"], p["step"]))
            write_json(self.path, {"every_real_tokens": self.every, "points": self.points})
            print(f"[probe] step 0: the start point of these weights and held-out sets, measured earlier "
                  f"({self.start_cache.name})", file=sys.stderr, flush=True)
            return
        point = self.measure(model, 0, 0)
        if self.start_cache is not None:
            write_json(self.start_cache, {k: v for k, v in point.items() if k != "seconds"})

    def step(self, model, record: dict) -> None:
        before, self.seen = self.seen, self.seen + record["real_tokens"]
        milestone = self.seen // self.every
        if milestone > before // self.every and not self._done(milestone):
            self.measure(model, record["step"], milestone)

    def end(self, model, history: Sequence[dict]) -> None:
        """The final weights, unless the last step was measured already."""
        last = history[-1]["step"] if history else 0
        if not any(p["step"] == last for p in self.points):
            self.measure(model, last, -1, final=True)
        else:
            for p in self.points:
                p["final"] = p["step"] == last
            write_json(self.path, {"every_real_tokens": self.every, "points": self.points})
