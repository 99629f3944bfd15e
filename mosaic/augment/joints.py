"""Exact token counts of a concatenation from its parts' counts, re-tokenizing only around the joints.

Holds for byte-level BPE tokenizers that split text with the GPT-2 pattern before BPE
(``ByteLevel(add_prefix_space=False, use_regex=True)``, no normalizer, BPE without dropout, no
truncation or padding, added tokens without whitespace or strip/word flags): SmolLM2, GPT-2 and
others. BPE never merges across the pattern's pieces, so a text's count is the sum over its
pieces. A *joint* is a space with a printable ASCII character on each side (``"a b"``): no
piece of the pattern ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``
can hold the character before the space and the space itself (a space only starts a piece, and
``\\s`` runs do not hold the character before), so a piece starts at the space whatever stands
before; the pattern has no look-behind, so what follows is split as it would be alone, and what
precedes ends there as it would alone (its look-ahead sees the same non-space character). Added
tokens hold no whitespace, so none spans a joint. Hence ``count(a + b) = count(a) + count(b)``
when ``b`` starts at a joint of ``a + b``.

A row whose count is known and that has joints inside it contributes ``count(row) - count(head) -
count(tail)``, where head and tail are the row up to its first and from its last joint; the
heads and tails are re-tokenized together with the decorations around them, which are the
only strings tokenized. Tested equal to counting the whole text, on the bundled data and on
texts made to break it (contractions, digits, non-ASCII, controls, tabs, special tokens).
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

Piece = tuple[str, int]  # (text, its token count alone; <= 0 when unknown, e.g. for a decoration)
CACHE_MAX = 200_000  # counts kept of heads and tails (never whitespace alone: they end or start at a joint)


def _graphic(c: str) -> bool:
    return "!" <= c <= "~"


def first_joint(text: str, start: int = 1) -> int:
    """Index of the first space from ``start`` with a printable ASCII character on each side, or -1."""
    i = text.find(" ", max(start, 1), len(text) - 1)
    while i > 0:
        if _graphic(text[i - 1]) and _graphic(text[i + 1]):
            return i
        i = text.find(" ", i + 1, len(text) - 1)
    return -1


def last_joint(text: str) -> int:
    i = text.rfind(" ", 1, len(text) - 1)
    while i > 0:
        if _graphic(text[i - 1]) and _graphic(text[i + 1]):
            return i
        i = text.rfind(" ", 1, i)
    return -1


_JOINT = re.compile(r"(?<=[!-~])(?= [!-~])")  # before a space with a printable ASCII character each side


def split_at_joints(text: str) -> list[str]:
    """``text`` cut before every joint (the pieces join back to ``text``)."""
    return _JOINT.split(text)


def supports_joints(backend) -> bool:
    """Whether ``backend`` (a ``tokenizers.Tokenizer``) is of the kind the joint rule holds for."""
    try:
        from tokenizers import models, pre_tokenizers
    except ImportError:  # pragma: no cover - tokenizers is a dependency
        return False
    pre, model = backend.pre_tokenizer, backend.model
    if not (isinstance(pre, pre_tokenizers.ByteLevel) and pre.use_regex and not pre.add_prefix_space):
        return False
    if backend.normalizer is not None or not isinstance(model, models.BPE) or model.dropout:
        return False
    if backend.truncation is not None or backend.padding is not None:
        return False
    for tok in backend.get_added_tokens_decoder().values():
        if tok.lstrip or tok.rstrip or tok.single_word or any(c.isspace() for c in tok.content):
            return False
    return True


def count_joined(texts_of: Sequence[Sequence[Piece]], count_batch: Callable[[list[str]], list[int]],
                 cache: dict[str, int] | None = None) -> int:
    """Total tokens of the texts ``"".join(piece texts)``, one per sequence, each counted alone.
    ``cache`` holds counts of texts alone (rows' heads and tails recur: they are words); it is updated."""
    joined: list[str] = []  # strings counted and added: the stretches between rows' first and last joints
    cut: list[str] = []  # rows' heads and tails, counted and subtracted
    known = 0
    for pieces in texts_of:
        buf: list[str] = []
        for text, n in pieces:
            if n > 0:
                first = first_joint(text)
                if first > 0:
                    last = last_joint(text)
                    head, tail = text[:first], text[last:]
                    buf.append(head)
                    joined.append("".join(buf))
                    buf = [tail]
                    cut += (head, tail)
                    known += n
                    continue
            buf.append(text)
        joined.append("".join(buf))
    cache = {} if cache is None else cache
    todo = [t for t in dict.fromkeys(cut) if t not in cache]
    joined = [t for t in joined if t]
    counts = count_batch(joined + todo)
    new = dict(zip(todo, counts[len(joined):]))
    if len(cache) < CACHE_MAX:
        cache.update(new)
    return known + sum(counts[:len(joined)]) - sum(cache[t] if t in cache else new[t] for t in cut)


PROBES = (  # texts with joints next to what the pattern treats specially
    "It's 12,500 km\t(approx.) -- isn't it? Yes: [3, 1, 2] and 'quoted' words, e.g. x=y+1.",
    "caf\u00e9 na\u00efve \u4e2d\u6587 text \u2014 dash; emoji \U0001f600 here! <|im_end|> tokens <s> x",
    "Line one ends\nLine two  has two spaces,\n\n- a list item 1. 2) and 3.14 %",
)


def probe(count: Callable[[str], int], count_batch: Callable[[list[str]], list[int]]) -> bool:
    """Check the rule on :data:`PROBES`: cut at every joint, and joined by decorations as rows are."""
    for text in PROBES:
        if count(text) != sum(count_batch(split_at_joints(text))):
            return False
    decorations = ("1. ", "\n\n[BEGIN] ", " x\n")
    pieces = [p for text, dec in zip(PROBES, decorations) for p in ((dec, 0), (text, count(text)))]
    return count_joined([pieces], count_batch) == count("".join(t for t, _ in pieces))
