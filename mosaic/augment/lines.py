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


class Escaper(dict):
    """UTF-8 escaped decoration strings (tags, markers, separators, meta-instructions): ``dec[text]``,
    made on first use and kept (up to a bound)."""

    def __missing__(self, text: str) -> bytes:
        e = escape_utf8(text)
        if len(self) < _CACHE_MAX:
            self[text] = e
        return e


def sample_line(sample_id: str, plan: MosaicPlan, used: Sequence[Item], n_tokens: int, provenance: dict,
                dec: Escaper) -> bytes:
    """UTF-8 of ``json.dumps`` of the sample dict :meth:`MosaicBuilder.sample` builds, without a newline."""
    ins, out = plan.layout([it.prompt_json or escape_utf8(it.prompt) for it in used],
                           [it.output_json or escape_utf8(it.output) for it in used], dec.__getitem__)
    rest = _ENCODER.encode({"count": plan.count, "n_tokens": n_tokens, "source": "mosaic", "provenance": provenance})
    return b"".join([b'{"id": "', escape_utf8(sample_id), b'", "instruction": "', *ins,
                     b'", "input": "", "output": "', *out, b'", ', rest[1:].encode()])
