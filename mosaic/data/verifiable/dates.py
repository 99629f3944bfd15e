"""The ``format_date`` task family: rewrite a date between the written formats in ``_DATE_FORMATS`` (ISO,
day-first, month-first, dotted, compact, long month names). Dates are drawn from 1950-2049.
"""
from __future__ import annotations

import datetime
import random
from typing import Callable

from .base import Built
from .words import MONTHS


# name -> (description used in instructions, formatter)
_DATE_FORMATS: dict[str, tuple[str, Callable[[datetime.date], str]]] = {
    "iso": ("YYYY-MM-DD", lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    "dmy": ("DD/MM/YYYY", lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}"),
    "mdy": ("MM/DD/YYYY", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year:04d}"),
    "dot": ("DD.MM.YYYY", lambda d: f"{d.day:02d}.{d.month:02d}.{d.year:04d}"),
    "ymd": ("YYYY/MM/DD", lambda d: f"{d.year:04d}/{d.month:02d}/{d.day:02d}"),
    "compact": ("YYYYMMDD (eight digits, no separators)",
                lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
    "long": ("Month D, YYYY (full month name, day without a leading zero)",
             lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}"),
    "euro_long": ("D Month YYYY (day without a leading zero, full month name)",
                  lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}"),
}
_DATE_SOURCES = ("iso", "iso", "dmy", "mdy", "long")


def format_date(rng: random.Random) -> Built:
    day = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(36525))
    src = rng.choice(_DATE_SOURCES)
    dst = rng.choice([f for f in _DATE_FORMATS if f != src])
    src_desc, src_fmt = _DATE_FORMATS[src]
    dst_desc, dst_fmt = _DATE_FORMATS[dst]
    shown = src_fmt(day)
    instr = rng.choice((
        f"The date {shown} is written as {src_desc.split(' (')[0]}. Rewrite it in the format "
        f"{dst_desc}. Give only the date.",
        f"Convert the date {shown} (format {src_desc.split(' (')[0]}) to the format {dst_desc}. "
        f"Reply with just the converted date.",
        f"Reformat {shown}, which is given as {src_desc.split(' (')[0]}, into {dst_desc}. "
        f"Answer with the date only.",
    ))
    return f"{day.isoformat()}:{src}>{dst}", instr, "", dst_fmt(day)
