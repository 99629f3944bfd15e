"""A mosaic sample as its JSON line, assembled from JSON-escaped pieces.

``json.dumps(sample, ensure_ascii=False)`` spends most of its time escaping the two long texts, and
each row's texts would be escaped again in every pass. JSON string escaping maps each character on
its own, so the escaped sample text is the escaped row texts joined by the escaped decorations: the
rows are escaped once, at ingest (:func:`escape`), decorations through a cache, and the line is the
one ``json.dumps`` would write (tested on texts with quotes, controls, non-ASCII and emoji).
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Sequence

from .sample import Item, MosaicPlan

_CACHE_MAX = 100_000
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(..., ensure_ascii=False) builds per call


def escape(text: str) -> str:
    """``text`` as it appears between the quotes in ``json.dumps(..., ensure_ascii=False)``."""
    return encode_basestring(text)[1:-1]


def escaped_or_same(text: str) -> str:
    """:func:`escape`, returning ``text`` itself where nothing needed escaping (no second copy kept)."""
    e = escape(text)
    return text if len(e) == len(text) else e


class Escaper:
    """Escapes decoration strings (tags, markers, separators, meta-instructions), with a cache."""

    def __init__(self):
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        e = self._cache.get(text)
        if e is None:
            e = escape(text)
            if len(self._cache) < _CACHE_MAX:
                self._cache[text] = e
        return e


def _prompt_json(it: Item) -> str:
    return it.prompt_json or escape(it.prompt)


def _output_json(it: Item) -> str:
    return it.output_json or escape(it.output)


def sample_line(sample_id: str, plan: MosaicPlan, used: Sequence[Item], n_tokens: int, provenance: dict,
                dec: Escaper) -> str:
    """``json.dumps`` of the sample dict :meth:`MosaicBuilder.sample` builds, without a newline."""
    instruction, output = plan.render_texts([_prompt_json(it) for it in used], [_output_json(it) for it in used], dec)
    rest = _ENCODER.encode({"count": plan.count, "n_tokens": n_tokens, "source": "mosaic", "provenance": provenance})
    return (f'{{"id": "{escape(sample_id)}", "instruction": "{instruction}", "input": "", "output": "{output}", '
            + rest[1:])
