"""Token ids and labels of one example: the loss covers the response and its end-of-turn token only.

Masking is by position (the prompt's length), never by token id: SmolLM2's pad token equals its
end-of-turn token, so masking pads by id would also hide every real end token from the loss.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..data.templates import PromptTemplate

IGNORE = -100


@dataclass(frozen=True, slots=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def loss_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def encode(tok, template: PromptTemplate, instruction: str, output: str, max_len: int | None = None) -> Encoded:
    prompt, response = template.encode(tok, instruction, output)
    if not prompt:
        raise ValueError("the rendered prompt is empty; every example needs a loss-masked prompt")
    if max_len is not None and len(prompt) + len(response) > max_len:
        raise ValueError(f"example of {len(prompt) + len(response)} tokens exceeds max_len={max_len}; "
                         "augment with a smaller --max-tokens or raise the training max_len")
    return Encoded(prompt + response, [IGNORE] * len(prompt) + list(response))


def read_samples(path: str | Path, limit: int | None = None) -> list[dict]:
    """The training samples of a data stage (or a ``mosaic augment`` output): one JSON object per line."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in (fh if limit is None else itertools.islice(fh, limit))]


def encode_samples(tok, template: PromptTemplate, samples: Iterable[dict], max_len: int | None = None) -> list[Encoded]:
    """Every sample's ``instruction``/``output`` in the training format; a sample over ``max_len`` fails."""
    return [encode(tok, template, s["instruction"], s["output"], max_len) for s in samples]
