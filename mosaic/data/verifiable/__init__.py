"""Deterministic generator of *verifiable* instruction tasks: short, exact, checkable answers.

Each task belongs to one family (``arith_add``, ``sort_words``, ``table_lookup`` ...). Its
parameters are drawn with :class:`random.Random` seeded from ``f"{seed}:{family}:{attempt}"``
and written into a canonical *task key* (family plus parameters, never the wording). The key
alone fixes the split (:func:`split_of`: about 20% ``heldout``), so a task is in the same split
whatever ``seed`` or ``n`` produced it, and the two splits never share a task.

The canonical answer doubles as the training output; :func:`check` scores a model response
against it with family-appropriate normalisation and never raises. Tasks serve as extra
training data for the tiny CPU reproduction and as sub-tasks of multi-instruction prompts
whose sub-answers are checked one by one.

Modules: ``words`` (word lists), ``base`` (the builder contract and drawing helpers), the families
(``arithmetic``, ``strings``, ``lists``, ``dates``, ``lookup``) and their registry ``families``, ``tasks``
(keys, splits, ids, ``generate``, ``to_record``) and ``checker`` (``check``). The public names are re-exported
here.
"""
from __future__ import annotations

from .checker import check
from .families import FAMILIES
from .tasks import HELDOUT_FRACTION, SPLITS, VerifiableTask, generate, split_of, task_key, to_record
from .words import MONTHS, WORDS

__all__ = ["FAMILIES", "HELDOUT_FRACTION", "MONTHS", "SPLITS", "WORDS", "VerifiableTask", "check", "generate",
           "split_of", "task_key", "to_record"]
