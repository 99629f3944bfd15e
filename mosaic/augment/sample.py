"""A mosaic sample as a plan (what was drawn) and its rendering (the text a model is trained on).

Strategies return a :class:`MosaicPlan`; nothing is rendered until a plan is accepted, and its
token length is computed from per-row counts made once (see ``budget.py``), so growing a sample
never re-tokenizes it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Sequence

RESPONSE_JOINER = "\n\n"


@dataclass(frozen=True, slots=True)
class Item:
    """One source example as the engine sees it: texts plus the features rules sort by."""

    id: str
    prompt: str  # instruction with its input folded in
    output: str  # "" where only ``output_json`` is kept (a stored row whose escaped form differs): see output_text
    n_prompt: int = 0  # token counts (tokenized once, alone)
    n_output: int = 0
    source: str = ""
    prompt_json: str = ""  # the texts JSON-escaped (``lines.escape``), made once per row; "" means not made
    output_json: str = ""

    @property
    def output_text(self) -> str:
        """The output, decoded from ``output_json`` where only that is kept (outputs are read rarely)."""
        if self.output or not self.output_json:
            return self.output
        return json.loads(f'"{self.output_json}"')

    @property
    def words(self) -> int:
        return len(self.prompt.split())

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
        return [self.tag(i) for i in range(self.count)]

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

    def render(self, items: Sequence[Item]) -> tuple[str, str]:
        return self.render_texts([it.prompt for it in items], [it.output_text for it in items])

    def render_texts(self, prompts: Sequence[str], outputs: Sequence[str],
                     dec: Callable[[str], str] = str) -> tuple[str, str]:
        """(instruction, output) from the rows' texts, each decoration string passed through ``dec``.

        With the rows' JSON-escaped texts and ``dec`` escaping too, this gives the escaped render
        (JSON escaping maps each character on its own, so escaping commutes with concatenation)."""
        tags = [dec(t) for t in self.tags()]
        instruction = dec(self.joiner).join([tags[i] + prompts[i] for i in range(self.count)])
        for m in self.metas:
            text, sep = dec(m.text), dec(m.sep)
            instruction = f"{text}{sep}{instruction}" if m.before else f"{instruction}{sep}{text}"
        begin, end = dec(self.begin), dec(self.end)
        output = dec(RESPONSE_JOINER).join([f"{tags[i]}{begin}{outputs[i]}{end}" for i in self.order])
        return instruction, output

    def pieces(self, items: Sequence[Item]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """:meth:`render` as (text, token count) pieces, the count 0 (unknown) for decorations (tested equal)."""
        tags = self.tags()
        ins: list[tuple[str, int]] = []
        for i in range(self.count):
            if i:
                ins.append((self.joiner, 0))
            ins += ((tags[i], 0), (items[i].prompt, items[i].n_prompt))
        for m in self.metas:
            ins = [(m.text, 0), (m.sep, 0), *ins] if m.before else [*ins, (m.sep, 0), (m.text, 0)]
        out: list[tuple[str, int]] = []
        for j, i in enumerate(self.order):
            if j:
                out.append((RESPONSE_JOINER, 0))
            out += ((tags[i], 0), (self.begin, 0), (items[i].output_text, items[i].n_output), (self.end, 0))
        return ins, out

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
