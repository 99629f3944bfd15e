"""``token_bytes``: the UTF-8 bytes a token stands for (OpenAI's ``bytes`` in logprobs). Decoding one token
gives U+FFFD when it holds part of a multi-byte character; its bytes are then read from the token's
vocabulary piece: a byte-fallback piece ``<0xNN>`` or a byte-level (GPT-2 style) piece.
"""
from __future__ import annotations

import re

_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def _byte_level_chars() -> dict[str, int]:
    """The byte-level BPE alphabet: printable Latin-1 bytes stand for themselves, the other 68 bytes for
    the code points from 256 up, in byte order."""
    printable = {*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)}
    chars, shifted = {}, 256
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(shifted)] = b
            shifted += 1
    return chars


_BYTE_OF = _byte_level_chars()


def token_bytes(tok, token_id: int, text: str) -> list[int]:
    """The bytes of token ``token_id`` whose decoded text is ``text``."""
    if "\ufffd" in text:
        piece = tok.convert_ids_to_tokens(token_id)
        if isinstance(piece, str):
            m = _BYTE_PIECE.fullmatch(piece)
            if m:
                return [int(m.group(1), 16)]
            if piece and all(c in _BYTE_OF for c in piece):
                return [_BYTE_OF[c] for c in piece]
    return list(text.encode("utf-8"))
