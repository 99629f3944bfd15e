"""A mosaic sample as its JSON line (UTF-8), assembled from JSON-escaped pieces.

``json.dumps(sample, ensure_ascii=False)`` spends most of its time escaping the two long texts, and
each row's texts would be escaped again in every pass. JSON string escaping maps each character on
its own, so the escaped sample text is the escaped row texts joined by the escaped decorations: the
rows are escaped once, at ingest (:func:`escape_utf8`), decorations through a cache, and the line
is the one ``json.dumps`` would write (tested on texts with quotes, controls, non-ASCII and emoji).
Pieces are UTF-8 bytes: joining them copies bytes once, where joining ``str`` widens a whole
sample to 4 bytes a character for one emoji, and the line needs no encoding before it is written.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Sequence

from .sample import Item, MosaicPlan

_CACHE_MAX = 100_000
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(..., ensure_ascii=False) builds per call


def escape(text: str) -> str:
    """``text`` as it appears between the quotes in ``json.dumps(..., ensure_ascii=False)``."""
    if text.isascii() and "\x7f" not in text:  # the ASCII encoder is faster and, for these, the same
        return encode_basestring_ascii(text)[1:-1]
    return encode_basestring(text)[1:-1]


def escape_utf8(text: str) -> bytes:
    return escape(text).encode()


class Escaper:
    """UTF-8 escaped decoration strings (tags, markers, separators, meta-instructions), cached."""

    def __init__(self):
        self._cache: dict[str, bytes] = {}

    def __call__(self, text: str) -> bytes:
        e = self._cache.get(text)
        if e is None:
            e = escape_utf8(text)
            if len(self._cache) < _CACHE_MAX:
                self._cache[text] = e
        return e


def sample_line(sample_id: str, plan: MosaicPlan, used: Sequence[Item], n_tokens: int, provenance: dict,
                dec: Escaper) -> bytes:
    """UTF-8 of ``json.dumps`` of the sample dict :meth:`MosaicBuilder.sample` builds, without a newline."""
    ins, out = plan.layout(lambda i: used[i].prompt_json or escape_utf8(used[i].prompt),
                           lambda i: used[i].output_json or escape_utf8(used[i].output), dec)
    rest = _ENCODER.encode({"count": plan.count, "n_tokens": n_tokens, "source": "mosaic", "provenance": provenance})
    return b"".join([b'{"id": "', escape_utf8(sample_id), b'", "instruction": "', *ins,
                     b'", "input": "", "output": "', *out, b'", ', rest[1:].encode()])
