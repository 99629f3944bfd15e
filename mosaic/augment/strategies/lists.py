"""Writing a list of instruction numbers into a meta-instruction, e.g. ``[3, 1, 2]`` or ``#3 -> #1 -> #2``."""
from __future__ import annotations

import random
from typing import Sequence

from .. import styles


def render_numbers(indices: Sequence[int], rng: random.Random) -> str:
    """1-based numbers of the given 0-based indices in one randomly drawn list style."""
    item = rng.choice(styles.LIST_ITEM_STYLES)
    sep = rng.choice(styles.LIST_SEPARATORS)
    left, right = rng.choice(styles.LIST_BRACKETS)
    return left + sep.join(item.replace("{i}", str(i + 1)) for i in indices) + right
