"""The ``table_lookup`` task family: a cell of one of the small invented fact tables (``mosaic.data.facts``),
looked up by row name or, for a column whose values are unique, in reverse (which row has this value).
"""
from __future__ import annotations

import random

from ..facts import TABLES
from .base import Built


def table_lookup(rng: random.Random) -> Built:
    t = rng.randrange(len(TABLES))
    table = TABLES[t]
    shown = rng.sample(range(len(table.rows)), rng.randint(4, min(9, len(table.rows))))
    target = rng.choice(shown)
    row = table.rows[target]
    reverse_cols = table.unique_columns()
    reverse = bool(reverse_cols) and rng.random() < 0.3
    if reverse:
        col = rng.choice(reverse_cols)
        value, phrase, answer = row[col], table.phrases[col], row[0]
        article = "an" if phrase[0] in "aeiou" else "a"
        instr = rng.choice((
            f"Using the table below, which {table.entity} has {article} {phrase} of {value}? "
            f"Give only the name.",
            f"In the table below, find the {table.entity} whose {phrase} is {value}. "
            f"Answer with its name only.",
            f"Which {table.entity} in the following table has {value} as its {phrase}? "
            f"Reply with just the name.",
        ))
    else:
        col = rng.randrange(1, len(table.columns))
        phrase, answer = table.phrases[col], row[col]
        instr = rng.choice((
            f"Using the table below, what is the {phrase} of {row[0]}? Give only the value "
            f"as written in the table.",
            f"Look up {row[0]} in the following table and report its {phrase}. Answer with "
            f"the value only.",
            f"According to the table below, what {phrase} is listed for the {table.entity} "
            f"{row[0]}? Reply with just that value.",
        ))
    key = f"{table.name}:{'rev' if reverse else 'cell'}:{col}:{target}:{','.join(map(str, shown))}"
    return key, instr, table.render(shown), answer
