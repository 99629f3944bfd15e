"""Streaming JSON/JSONL readers that report bad rows precisely, and atomic writers.

Readers yield ``(row, value)`` where ``value`` is the parsed object or a :class:`DataError`
for a row that could not be read; the caller decides (via :class:`ErrorReport`) whether
that stops the run or is counted and skipped. Nothing is read into memory as a whole.
"""
from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import DataError

CHUNK = 1 << 20


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, object]]:
    """One JSON value per line; blank lines are not rows. Row numbers are line numbers."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield lineno, DataError(path, lineno, None, f"invalid UTF-8 at byte {e.start} of the line")
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as e:
                yield lineno, DataError(path, lineno, None, f"invalid JSON: {e.msg} (column {e.colno})")


def iter_json_array(path: str | Path) -> Iterator[tuple[int, object]]:
    """Elements of a top-level JSON array, parsed incrementally. Row numbers are 1-based element indices.

    Invalid UTF-8 inside an element is reported for that element (it is decoded with
    ``surrogateescape`` and flagged by :func:`check_strings`); malformed JSON ends the file,
    since an array cannot be resynchronised after a syntax error.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    with open(path, "rb") as fh:
        buf, pos, eof, line = "", 0, False, 1

        def more() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            chunk = fh.read(CHUNK)
            eof = not chunk
            buf = buf[pos:] + utf8.decode(chunk, final=eof)
            pos = 0
            return bool(chunk) or bool(buf)

        def skip_ws() -> str:
            nonlocal pos, line
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    line += buf[pos] == "\n"
                    pos += 1
                if pos < len(buf):
                    return buf[pos]
                if not more() or pos >= len(buf):
                    return ""

        if skip_ws() != "[":
            raise DataError(path, None, None, "expected a JSON array ('[' ...) or JSON Lines")
        pos += 1
        row = 0
        while True:
            ch = skip_ws()
            if ch == "]" and row == 0:
                return
            row += 1
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError as e:
                    if not more():
                        raise DataError(path, row, None, f"invalid JSON near line {line + buf.count(chr(10), pos, e.pos)}: {e.msg}") from None
            line += buf.count("\n", pos, end)
            pos = end
            yield row, value
            ch = skip_ws()
            if ch == ",":
                pos += 1
            elif ch == "]":
                return
            else:
                raise DataError(path, row, None, f"invalid JSON near line {line}: expected ',' or ']' after element")


def iter_json_rows(path: str | Path) -> Iterator[tuple[int, object]]:
    """JSON array or JSON Lines, whichever the file holds (decided by its first non-space byte)."""
    with open(path, "rb") as fh:
        head = b""
        while not head:
            chunk = fh.read(4096)
            if not chunk:
                break
            head = chunk.lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        raise DataError(path, None, None, "file starts with a UTF-8 byte-order mark; save it without BOM")
    return iter_json_array(path) if head.startswith(b"[") else iter_jsonl(path)


def check_strings(value: object, path, row: int, field: str) -> None:
    """Reject strings that are not valid Unicode text (lone surrogates from bad UTF-8 or bad escapes)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise DataError(path, row, field, f"invalid UTF-8 / lone surrogate at character {e.start}") from None


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temporary file beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    kwargs = {} if "b" in mode else {"encoding": encoding}
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | Path, obj: object) -> None:
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")


def write_jsonl(path: str | Path, rows) -> int:
    n = 0
    with atomic_open(path) as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()
