"""The answer checker: ``check`` scores a model response against a task's canonical answer with the
normalisation of the family's answer kind (numbers numerically, lists element-wise, case-sensitive only for
``case_convert``, spacing around punctuation ignored for joined text) and never raises, so a malformed
response scores False instead of crashing an evaluation run.
"""
from __future__ import annotations

import math
import re

from .families import KINDS
from .tasks import VerifiableTask


_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_GROUPED_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_SPACE_RE = re.compile(r"\s+")
_PUNCT_SPACE_RE = re.compile(r"\s*([^\w\s])\s*")
_MAX_LEN = 10_000


def _clean(text: str) -> str:
    text = text.strip()
    if text.endswith("."):
        text = text[:-1].rstrip()
    return text


def _parse_number(text: str) -> float | None:
    text = text.strip().replace("\u2212", "-")
    if _GROUPED_RE.fullmatch(text):
        text = text.replace(",", "")
    if not _NUMBER_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _numbers_equal(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def _text_key(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip().casefold()


def _items_equal(expected: str, got: str) -> bool:
    a, b = _parse_number(expected), _parse_number(got)
    if a is not None and b is not None:
        return _numbers_equal(a, b)
    return _text_key(expected) == _text_key(got)


def _check_kind(kind: str, answer: str, response: str) -> bool:
    if kind == "auto":
        kind = "number" if _parse_number(answer) is not None else "text"
    if kind == "number":
        a, b = _parse_number(answer), _parse_number(response)
        return a is not None and b is not None and _numbers_equal(a, b)
    if kind == "exact":
        return _SPACE_RE.sub(" ", answer).strip() == _SPACE_RE.sub(" ", response).strip()
    if kind == "list":
        want = [x.strip() for x in answer.split(",")]
        got = [x.strip() for x in response.split(",")]
        return len(want) == len(got) and all(_items_equal(w, g) for w, g in zip(want, got))
    if kind == "joined":
        def norm(s: str) -> str:
            return _PUNCT_SPACE_RE.sub(r"\1", _text_key(s))
        # a space separator survives as single spaces between words, which norm() keeps
        return norm(answer) == norm(response)
    return _text_key(answer) == _text_key(response)


def check(task: VerifiableTask, response: str) -> bool:
    """True iff response gives task.answer, after family-appropriate normalisation.

    Whitespace around the response and one trailing period are ignored; comparison is
    case-insensitive except for ``case_convert``; numbers compare numerically (relative
    tolerance 1e-9, thousands separators as in ``1,234`` accepted); list answers compare
    element-wise after splitting on commas. Never raises: anything unusable is ``False``.
    """
    try:
        if not isinstance(response, str) or len(response) > _MAX_LEN + len(task.answer):
            return False
        return _check_kind(KINDS.get(task.family, "text"), _clean(task.answer), _clean(response))
    except Exception:  # a checker must score, never crash an evaluation run
        return False
