"""The registry of task families: each family's builder and answer kind (how :func:`check` compares a
response), in the order ``generate`` interleaves them (``FAMILIES``: that order is part of what a seed generates).
"""
from __future__ import annotations

from .arithmetic import arith_add, arith_mixed, arith_mul, arith_sub, percent_of, unit_convert
from .base import Builder
from .dates import format_date
from .lists import dedupe_list, list_extreme, list_sum, sort_numbers, sort_words
from .lookup import table_lookup
from .strings import case_convert, count_char, count_words, join_words, reverse_string, vowel_count


# family -> (builder, answer kind). Kinds: "number" (numeric), "text" (case-insensitive),
# "exact" (case-sensitive), "list" (comma-separated, element-wise), "joined" (text whose
# spacing around punctuation is ignored), "auto" (number if the answer is numeric, else text).
_FAMILY_SPECS: dict[str, tuple[Builder, str]] = {
    "arith_add": (arith_add, "number"),
    "arith_sub": (arith_sub, "number"),
    "arith_mul": (arith_mul, "number"),
    "arith_mixed": (arith_mixed, "number"),
    "percent_of": (percent_of, "number"),
    "unit_convert": (unit_convert, "number"),
    "reverse_string": (reverse_string, "text"),
    "case_convert": (case_convert, "exact"),
    "count_char": (count_char, "number"),
    "count_words": (count_words, "number"),
    "vowel_count": (vowel_count, "number"),
    "join_words": (join_words, "joined"),
    "sort_numbers": (sort_numbers, "list"),
    "sort_words": (sort_words, "list"),
    "list_extreme": (list_extreme, "number"),
    "list_sum": (list_sum, "number"),
    "dedupe_list": (dedupe_list, "list"),
    "format_date": (format_date, "joined"),
    "table_lookup": (table_lookup, "auto"),
}
BUILDERS: dict[str, Builder] = {f: spec[0] for f, spec in _FAMILY_SPECS.items()}
KINDS: dict[str, str] = {f: spec[1] for f, spec in _FAMILY_SPECS.items()}
FAMILIES: tuple[str, ...] = tuple(_FAMILY_SPECS)
