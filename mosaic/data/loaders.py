"""Loaders for the instruction-data formats in use: Alpaca, ShareGPT and ``messages``.

Every loader streams rows, validates each against its format and yields canonical records
(:class:`Example` for single-turn data, :class:`Conversation` for chats). A bad row raises a
:class:`DataError` naming file, row and field, or, with ``on_error="skip"``, is counted in the
:class:`ErrorReport` and skipped.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import DataError, ErrorReport
from .io import check_strings, iter_json_rows
from .records import Conversation, Example, Turn

FORMATS = ("auto", "alpaca", "sharegpt", "messages")
MULTI_TURN = ("first", "split", "error")

# ShareGPT speaker names seen in public dumps, mapped to chat roles.
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "chatgpt": "assistant", "bard": "assistant", "bing": "assistant", "model": "assistant",
                  "system": "system"}


def _text(obj: dict, key: str, path, row: int, *, required: bool = True, label: str | None = None) -> str:
    label = label or key
    if key not in obj or obj[key] is None:
        if required:
            raise DataError(path, row, label, "missing")
        return ""
    value = obj[key]
    if not isinstance(value, str):
        raise DataError(path, row, label, f"expected a string, got {type(value).__name__}")
    check_strings(value, path, row, label)
    if required and not value.strip():
        raise DataError(path, row, label, "empty")
    return value


def _row_id(obj: dict, fallback: str) -> str:
    for key in ("id", "uuid", "idx"):
        if isinstance(obj.get(key), (str, int)) and not isinstance(obj.get(key), bool):
            return str(obj[key])
    return fallback


def alpaca_example(obj: object, path, row: int, source: str) -> Example:
    """Validate one Alpaca row (``instruction``, optional ``input``, ``output``)."""
    if not isinstance(obj, dict):
        raise DataError(path, row, None, f"expected a JSON object, got {type(obj).__name__}")
    return Example(id=_row_id(obj, f"{source}-{row}"),
                   instruction=_text(obj, "instruction", path, row),
                   input=_text(obj, "input", path, row, required=False),
                   output=_text(obj, "output", path, row), source=source)


def _turns(items: object, path, row: int, key: str, role_key: str, text_key: str,
           role_map: dict[str, str] | None) -> tuple[Turn, ...]:
    if not isinstance(items, list):
        raise DataError(path, row, key, f"expected a list, got {type(items).__name__}")
    if not items:
        raise DataError(path, row, key, "empty conversation")
    turns = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise DataError(path, row, where, f"expected an object, got {type(item).__name__}")
        speaker = _text(item, role_key, path, row, label=f"{where}.{role_key}")
        role = role_map.get(speaker.lower()) if role_map else speaker
        if role not in ("system", "user", "assistant"):
            raise DataError(path, row, f"{where}.{role_key}", f"unknown role {speaker!r}")
        turns.append(Turn(role, _text(item, text_key, path, row, label=f"{where}.{text_key}")))
    body = turns[1:] if turns[0].role == "system" else turns
    for i, t in enumerate(body):
        want = "user" if i % 2 == 0 else "assistant"
        if t.role != want:
            idx = i + (len(turns) - len(body))
            raise DataError(path, row, f"{key}[{idx}].{role_key}", f"expected a {want} turn, got {t.role}"
                            " (turns must alternate user/assistant after an optional system turn)")
    if len(body) < 2 or body[-1].role != "assistant":
        raise DataError(path, row, key, "conversation must end with an assistant turn")
    return tuple(turns)


def _conversation(obj: object, path, row: int, source: str, *, key: str, role_key: str, text_key: str,
                  role_map: dict[str, str] | None) -> Conversation:
    if not isinstance(obj, dict):
        raise DataError(path, row, None, f"expected a JSON object, got {type(obj).__name__}")
    if key not in obj:
        raise DataError(path, row, key, "missing")
    return Conversation(_row_id(obj, f"{source}-{row}"), _turns(obj[key], path, row, key, role_key, text_key, role_map),
                        source)


sharegpt_conversation = partial(_conversation, key="conversations", role_key="from", text_key="value",
                                role_map=SHAREGPT_ROLES)
messages_conversation = partial(_conversation, key="messages", role_key="role", text_key="content", role_map=None)


PARSERS: dict[str, Callable] = {"alpaca": alpaca_example, "sharegpt": sharegpt_conversation,
                                "messages": messages_conversation}


def detect_format(obj: object) -> str | None:
    if isinstance(obj, dict):
        if "conversations" in obj:
            return "sharegpt"
        if "messages" in obj:
            return "messages"
        if "instruction" in obj or "output" in obj:
            return "alpaca"
    return None


def iter_records(rows: Iterable[tuple[int, object]], fmt: str, path, source: str,
                 report: ErrorReport) -> Iterator[Example | Conversation]:
    """Validate raw ``(row, value)`` pairs from any reader (file or hub) into records."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    parser = None if fmt == "auto" else PARSERS[fmt]
    for row, value in rows:
        try:
            if isinstance(value, DataError):
                raise value
            if parser is None:
                detected = detect_format(value)
                if detected is None:
                    raise DataError(path, row, None, "cannot detect the format: expected 'instruction'/'output' "
                                    "(alpaca), 'conversations' (sharegpt) or 'messages'; pass --format")
                parser = PARSERS[detected]
            yield parser(value, path, row, source)
        except DataError as e:
            report.handle(e)


def to_examples(records: Iterable[Example | Conversation], multi_turn: str = "first",
                stats: dict | None = None) -> Iterator[Example]:
    """Single-turn examples for augmentation. ``multi_turn`` says what happens to longer chats:

    ``first`` keeps the first exchange, ``split`` makes every exchange an example (later turns lose
    their context), ``error`` refuses. ``stats`` counts conversations and exchanges not used.
    """
    if multi_turn not in MULTI_TURN:
        raise ValueError(f"multi_turn must be one of {MULTI_TURN}, got {multi_turn!r}")
    stats = {} if stats is None else stats
    for rec in records:
        if isinstance(rec, Example):
            yield rec
            continue
        pairs = rec.exchanges
        if len(pairs) > 1:
            if multi_turn == "error":
                raise DataError(None, None, None, f"conversation {rec.id} has {len(pairs)} exchanges; "
                                "use --multi-turn first|split")
            stats["multi_turn_conversations"] = stats.get("multi_turn_conversations", 0) + 1
            if multi_turn == "first":
                stats["exchanges_not_used"] = stats.get("exchanges_not_used", 0) + len(pairs) - 1
                pairs = pairs[:1]
        for j, (user, assistant) in enumerate(pairs):
            yield Example(id=rec.id if len(pairs) == 1 else f"{rec.id}#{j}", instruction=user,
                          output=assistant, source=rec.source)


def load_records(path: str | Path, fmt: str = "auto", report: ErrorReport | None = None,
                 source: str | None = None) -> Iterator[Example | Conversation]:
    """Stream validated records from a JSON array or JSON Lines file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    return iter_records(iter_json_rows(path), fmt, path, source or path.stem, report or ErrorReport())


def load_examples(path: str | Path, fmt: str = "auto", report: ErrorReport | None = None,
                  multi_turn: str = "first", stats: dict | None = None) -> Iterator[Example]:
    return to_examples(load_records(path, fmt, report), multi_turn, stats)
