"""Canonical in-memory records: every loader produces these, everything downstream consumes them."""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True, slots=True)
class Example:
    """One single-turn instruction/response pair (the unit Mosaic-IT concatenates)."""

    id: str
    instruction: str
    output: str
    input: str = ""
    source: str = ""

    @property
    def prompt(self) -> str:
        """Instruction with its input folded in, as the released code does (``instruction + "\\n" + input``)."""
        return f"{self.instruction}\n{self.input}" if self.input else self.instruction

    def to_dict(self) -> dict:
        return {"id": self.id, "instruction": self.instruction, "input": self.input,
                "output": self.output, "source": self.source}


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """A multi-turn chat; ``turns`` alternate user/assistant after an optional system turn."""

    id: str
    turns: tuple[Turn, ...]
    source: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def exchanges(self) -> list[tuple[str, str]]:
        """(user, assistant) pairs in order; a system turn is not part of any pair."""
        body = [t for t in self.turns if t.role != "system"]
        return [(body[i].content, body[i + 1].content) for i in range(0, len(body) - 1, 2)]

    @property
    def system(self) -> str | None:
        return self.turns[0].content if self.turns and self.turns[0].role == "system" else None

    def to_dict(self) -> dict:
        return {"id": self.id, "source": self.source,
                "messages": [{"role": t.role, "content": t.content} for t in self.turns]}
