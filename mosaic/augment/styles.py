"""Surface styles of a mosaic sample: number tags, begin/end markers, list rendering.

Each list is split into styles used in training and held-out styles reserved for evaluating
whether a model learned the skill rather than the surface form. All lists are this project's own.
"""
from __future__ import annotations

from .phrasings import Phrasings

# "{i}" is the instruction number. A drawn style of None means the instructions are unnumbered
# (the released code does this for 1 in 10 samples).
NUMBER_STYLES = Phrasings(
    train=("{i}", "({i})", "[{i}]", "<{i}>", "#{i}", "### {i}", "Item {i}", "{i})", "**{i}**"),
    heldout=("Q{i}", "<<{i}>>", "Task {i}"),
)
NUMBER_PUNCT = ("", ".", ":")
UNNUMBERED_PROBABILITY = 0.1

# Marker shapes around a word: "{text}" is replaced by the begin or end word.
MARKER_SHAPES = Phrasings(
    train=("[{text}]", "<{text}>", "<<{text}>>", "{{text}}", "({text})", "|{text}|", "#{text}#",
           "**{text}**", "=={text}==", "~{text}~", "<|{text}|>", "[[{text}]]", "__{text}__", "%{text}%",
           "@{text}@", "^{text}^"),
    heldout=("/*{text}*/", "&{text}&", "+{text}+"),
)
MARKER_WORDS = Phrasings(
    train=(("BEGIN", "END"), ("START", "STOP"), ("ANSWER", "/ANSWER"), ("REPLY", "END REPLY"),
           ("OPEN", "CLOSE"), ("A", "/A"), ("OUT", "/OUT"), ("RESULT", "END RESULT"),
           ("SOLUTION", "DONE"), ("RESP", "ENDRESP"), ("HEAD", "TAIL"), ("GO", "HALT")),
    heldout=(("FROM", "UNTIL"), ("ALPHA", "OMEGA"), ("ENTER", "EXIT")),
)

# How an explicit list of instruction numbers is written inside a meta-instruction.
LIST_ITEM_STYLES = ("{i}", "#{i}", "({i})", "[{i}]", "<{i}>", "no. {i}")
LIST_SEPARATORS = (", ", "; ", " ", " -> ", " > ", " then ", ",")
LIST_BRACKETS = (("[", "]"), ("(", ")"), ("", ""))
