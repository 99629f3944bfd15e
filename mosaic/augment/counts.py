"""How many instructions a mosaic sample is drawn to hold (``wrap_mode``), before the token budget.

Faithful to the released code (``mosaic_main.py``): heavy-tailed draws ``x`` are rejected until
they fall below ``max_count`` and the count is ``max_count - int(x)``; ``max_length`` leaves the
count open so that the token budget alone decides (greedy fill). The realised count is at most
the drawn one, since the budget can stop a sample early.
"""
from __future__ import annotations

import math
import random
from typing import Callable

HARD_MAX_ITEMS = 50  # the released code's MAX_INSTRUCTION_NUMBER; bounds greedy filling


def _tail(draw: Callable[[random.Random], float], low: float = -math.inf):
    def count(rng: random.Random, max_count: int) -> int:
        while True:
            x = draw(rng)
            if low < x < max_count:
                return max_count - int(x)
    return count


def _logistic(rng: random.Random, scale: float = 2.0) -> float:
    u = rng.random()
    while u == 0.0:
        u = rng.random()
    return scale * math.log(u / (1.0 - u))


WRAP_MODES: dict[str, Callable[[random.Random, int], int]] = {
    "uniform": lambda rng, m: rng.randint(1, m),
    "fix_max": lambda rng, m: m,
    "max_length": lambda rng, m: HARD_MAX_ITEMS,
    "exp": _tail(lambda rng: rng.expovariate(1.0)),
    # numpy's pareto(1) is Lomax = classical Pareto - 1; the released code subtracts 1 more.
    "pareto": _tail(lambda rng: rng.paretovariate(1.0) - 2.0),
    "lognormal": _tail(lambda rng: rng.lognormvariate(0.0, 1.0)),
    "logistic": _tail(_logistic, low=0.0),
}
COUNT_DISTRIBUTIONS = tuple(WRAP_MODES)  # each distribution once (the alias below is not another one)
WRAP_MODES["logistic2"] = WRAP_MODES["logistic"]  # the released code's name


def draw_count(mode: str, rng: random.Random, max_count: int) -> int:
    if mode not in WRAP_MODES:
        raise ValueError(f"unknown wrap_mode {mode!r}; known: {sorted(WRAP_MODES)}")
    if max_count < 1:
        raise ValueError(f"max_count must be >= 1, got {max_count}")
    return WRAP_MODES[mode](rng, max_count)


def expected_pmf(mode: str, max_count: int) -> dict[int, float]:
    """Exact distribution of :func:`draw_count` (used by the tests and the Figure-3 plot)."""
    m = max_count
    if mode == "uniform":
        return {c: 1 / m for c in range(1, m + 1)}
    if mode == "fix_max":
        return {m: 1.0}
    if mode == "max_length":
        return {HARD_MAX_ITEMS: 1.0}
    # P(count = m - j) = P(j <= x < j+1 | accepted) for each integer part j of x.
    cdfs = {
        "exp": lambda x: 1 - math.exp(-x) if x > 0 else 0.0,
        "pareto": lambda x: 1 - 1 / (x + 2) if x > -1 else 0.0,
        "lognormal": lambda x: 0.5 * (1 + math.erf(math.log(x) / math.sqrt(2))) if x > 0 else 0.0,
        "logistic": lambda x: 1 / (1 + math.exp(-x / 2)),
        "logistic2": lambda x: 1 / (1 + math.exp(-x / 2)),
    }
    if mode not in cdfs:
        raise ValueError(f"unknown wrap_mode {mode!r}")
    F = cdfs[mode]
    lo = 0.0 if mode.startswith("logistic") else -1.0
    total = F(m) - F(lo)
    pmf: dict[int, float] = {}
    # int() truncates toward zero, so x in (-1, 1) maps to count m.
    for j in range(-1 if lo < 0 else 0, m):
        a, b = max(j, lo), j + 1
        c = m - int(j if j >= 0 else 0)
        pmf[c] = pmf.get(c, 0.0) + (F(b) - F(a)) / total
    return pmf
