"""A mosaic sample as a plan (what was drawn) and its rendering (the text a model is trained on).

Strategies return a :class:`MosaicPlan`; nothing is rendered until a plan is accepted, and its
token length is computed from per-row counts made once (see ``budget.py``), so growing a sample
never re-tokenizes it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeVar

RESPONSE_JOINER = "\n\n"
T = TypeVar("T")
_TAGS: dict[tuple, list[str]] = {}  # tags by numbering style (a few dozen styles, up to 50 tags each)


def _same(s: str) -> str:
    return s


def _unknown(s: str) -> tuple[str, int]:
    return s, 0


@dataclass(frozen=True, slots=True)
class Item:
    """One source example as the engine sees it: texts plus the features rules sort by."""

    id: str
    prompt: str  # instruction with its input folded in
    output: str  # "" where only ``output_json`` is kept (rows stored in memory): read ``output_text``
    n_prompt: int = 0  # token counts (tokenized once, alone)
    n_output: int = 0
    source: str = ""
    prompt_json: bytes = b""  # the texts JSON-escaped, UTF-8 (``lines.escape_utf8``), made once per row; b"": not made
    output_json: bytes = b""
    n_words: int = -1  # words of the prompt, where made at ingest (rules sort by it in every pass)

    @property
    def output_text(self) -> str:
        """The output, decoded from ``output_json`` where only that is kept (outputs are read rarely)."""
        if self.output or not self.output_json:
            return self.output
        return json.loads(b'"' + self.output_json + b'"')

    @property
    def words(self) -> int:
        return self.n_words if self.n_words >= 0 else len(self.prompt.split())

    @property
    def chars(self) -> int:
        return len(self.prompt)


@dataclass(frozen=True, slots=True)
class Meta:
    """A meta-instruction placed before or after the block it wraps."""

    text: str
    phrasing: str  # e.g. "permute/alpha#3"
    before: bool
    sep: str


@dataclass(slots=True)
class MosaicPlan:
    strategy: str
    count: int
    rule: str | None = None
    number_style: str | None = None
    number_punct: str = ""
    tag_newline: bool = False
    joiner: str = "\n"
    begin: str = ""
    end: str = ""
    metas: list[Meta] = field(default_factory=list)  # innermost first
    order: list[int] = field(default_factory=list)  # 0-based indices of the responses, in output order
    masked: list[int] = field(default_factory=list)  # 0-based indices of ignored instructions

    def tag(self, i: int) -> str:
        """Number tag of instruction ``i`` (0-based), shared by the instruction and its response."""
        if self.number_style is None:
            return ""
        return self.number_style.replace("{i}", str(i + 1)) + self.number_punct + ("\n" if self.tag_newline else " ")

    def tags(self) -> list[str]:
        """``tag(i)`` for every instruction (made once per numbering style)."""
        if self.number_style is None:
            return [""] * self.count
        made = _TAGS.setdefault((self.number_style, self.number_punct, self.tag_newline), [])
        while len(made) < self.count:
            made.append(self.tag(len(made)))
        return made[:self.count]

    def instruction_pieces(self, items: Sequence[Item]) -> list[str]:
        """Decoration strings on the instruction side (everything but the item prompts)."""
        pieces = self.tags() + [self.joiner] * (self.count - 1)
        for m in self.metas:
            pieces += [m.text, m.sep]
        return pieces

    def output_pieces(self) -> list[str]:
        tags = self.tags()
        pieces = [tags[i] for i in self.order]
        pieces += [self.begin, self.end] * len(self.order)
        return pieces + [RESPONSE_JOINER] * (len(self.order) - 1)

    def layout(self, prompts: Sequence[T], outputs: Sequence[T], dec: Callable[[str], T]) -> tuple[list[T], list[T]]:
        """The sample as two flat lists of pieces (instruction side, output side): row ``i``'s texts are
        ``prompts[i]`` and ``outputs[i]``, each decoration string ``s`` is ``dec(s)``. Joined, the pieces
        of the row texts give :meth:`render`; of their JSON-escaped forms, the escaped render (JSON
        escaping maps each character on its own, so it commutes with concatenation)."""
        tags = [dec(t) for t in self.tags()]
        joiner = dec(self.joiner)
        core: list[T] = []
        for i in range(self.count):
            if i:
                core.append(joiner)
            core += (tags[i], prompts[i])
        head: list[T] = []
        tail: list[T] = []
        for m in self.metas:  # innermost first
            if m.before:
                head = [dec(m.text), dec(m.sep), *head]
            else:
                tail += (dec(m.sep), dec(m.text))
        begin, end, between = dec(self.begin), dec(self.end), dec(RESPONSE_JOINER)
        out: list[T] = []
        for j, i in enumerate(self.order):
            if j:
                out.append(between)
            out += (tags[i], begin, outputs[i], end)
        return head + core + tail, out

    def render(self, items: Sequence[Item]) -> tuple[str, str]:
        ins, out = self.layout([it.prompt for it in items], [it.output_text for it in items], _same)
        return "".join(ins), "".join(out)

    def pieces(self, items: Sequence[Item], dec: Callable[[str], tuple[str, int]] | None = None
               ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """:meth:`render` as (text, its token count alone) pieces; decorations through ``dec`` (default:
        count 0, unknown)."""
        return self.layout([(it.prompt, it.n_prompt) for it in items],
                           [(it.output_text, it.n_output) for it in items], dec or _unknown)

    def provenance(self, items: Sequence[Item]) -> dict:
        return {
            "source_ids": [items[i].id for i in range(self.count)],
            "strategy": self.strategy,
            "rule": self.rule,
            "order": list(self.order),
            "masked": list(self.masked),
            "count": self.count,
            "numbered": self.number_style is not None,
            "number_style": self.number_style,
            "begin": self.begin or None,
            "end": self.end or None,
            "meta": [{"phrasing": m.phrasing, "before": m.before} for m in self.metas],
        }
