"""The arithmetic task families: ``arith_add``, ``arith_sub``, ``arith_mul``, ``arith_mixed`` (order of
operations), ``percent_of`` and ``unit_convert``, with the canonical decimal text (``_num``) their exact
answers are written in. Every answer is an integer or a terminating decimal, so it can be checked exactly.
"""
from __future__ import annotations

import random
from decimal import Decimal
from typing import Callable

from .base import Built


def _num(value) -> str:
    """Canonical decimal text of an int/Decimal: no exponent, no trailing zeros, no '-0'."""
    if isinstance(value, int):
        return str(value)
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def arith_add(rng: random.Random) -> Built:
    k = rng.choice((2, 2, 3))
    ops = [rng.randint(10, 9999) for _ in range(k)]
    total = sum(ops)
    expr = " + ".join(map(str, ops))
    words = ", ".join(map(str, ops[:-1])) + f" and {ops[-1]}"
    instr = rng.choice((
        f"What is {expr}? Give only the number.",
        f"Add {words}. Reply with just the sum as an integer.",
        f"Compute the sum {expr}. Answer with the resulting number only.",
        f"Calculate {expr} and write only the result.",
    ))
    return "+".join(map(str, sorted(ops))), instr, "", str(total)


def arith_sub(rng: random.Random) -> Built:
    a, b = rng.randint(10, 9999), rng.randint(10, 9999)
    if a == b:
        b += 1
    instr = rng.choice((
        f"What is {a} - {b}? Give only the number.",
        f"Subtract {b} from {a}. Reply with just the result (it may be negative).",
        f"Compute {a} minus {b}. Answer with the resulting integer only.",
        f"Calculate the difference {a} - {b} and write only the number.",
    ))
    return f"{a}-{b}", instr, "", str(a - b)


def arith_mul(rng: random.Random) -> Built:
    a = rng.randint(10, 9999)
    b = rng.randint(10, 99) if a >= 1000 else rng.randint(10, 999)
    instr = rng.choice((
        f"What is {a} * {b}? Give only the number.",
        f"Multiply {a} by {b}. Reply with just the product.",
        f"Compute the product of {a} and {b}. Answer with the integer only.",
        f"Calculate {a} × {b} and write only the result.",
    ))
    lo, hi = sorted((a, b))
    return f"{lo}*{hi}", instr, "", str(a * b)


_MIXED_FORMS: tuple[tuple[str, Callable[[int, int, int], int]], ...] = (
    ("({a} + {b}) * {c}", lambda a, b, c: (a + b) * c),
    ("({a} - {b}) * {c}", lambda a, b, c: (a - b) * c),
    ("{a} + {b} * {c}", lambda a, b, c: a + b * c),
    ("{a} * {b} - {c}", lambda a, b, c: a * b - c),
    ("{a} * ({b} + {c})", lambda a, b, c: a * (b + c)),
    ("{a} - {b} * {c}", lambda a, b, c: a - b * c),
)


def arith_mixed(rng: random.Random) -> Built:
    form, fn = rng.choice(_MIXED_FORMS)
    a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 20)
    expr = form.format(a=a, b=b, c=c)
    instr = rng.choice((
        f"Evaluate {expr}. Give only the number.",
        f"What is the value of {expr}? Follow the usual order of operations and reply with just the integer.",
        f"Compute {expr} (multiplication before addition and subtraction, brackets first). "
        f"Answer with the result only.",
    ))
    return expr.replace(" ", ""), instr, "", str(fn(a, b, c))


_PERCENTS = ("1", "2", "2.5", "4", "5", "8", "10", "12.5", "15", "20", "25", "30", "35", "40",
             "45", "50", "60", "65", "75", "80", "90", "120", "150", "200")


def percent_of(rng: random.Random) -> Built:
    p = rng.choice(_PERCENTS)
    base = rng.choice((rng.randint(10, 999), rng.randint(1, 99) * 20, rng.randint(100, 9999)))
    value = Decimal(p) * base / 100          # p has at most one decimal: result terminates
    instr = rng.choice((
        f"What is {p}% of {base}? Give only the number.",
        f"Calculate {p} percent of {base}. Reply with just the exact value (decimals if needed).",
        f"Find {p}% of {base} and answer with the number only, written exactly with no rounding.",
    ))
    return f"{p}%{base}", instr, "", _num(value)


# (big unit, small unit, factor, step of the small amount for big->small, for small->big)
_UNITS = (
    (("kilometers", "km"), ("meters", "m"), 1000, 10, 1),
    (("kilograms", "kg"), ("grams", "g"), 1000, 10, 1),
    (("liters", "L"), ("milliliters", "mL"), 1000, 10, 1),
    (("hours", "h"), ("minutes", "min"), 60, 15, 3),
    (("centimeters", "cm"), ("millimeters", "mm"), 10, 1, 1),
    (("meters", "m"), ("centimeters", "cm"), 100, 5, 1),
)


def unit_convert(rng: random.Random) -> Built:
    (big, big_abbr), (small, small_abbr), factor, step_down, step_up = rng.choice(_UNITS)
    to_small = rng.random() < 0.5
    step = step_down if to_small else step_up
    small_amount = step * rng.randint(1, 9999 // step + 1)
    big_amount = _num(Decimal(small_amount) / factor)   # terminating by choice of step
    if to_small:
        src, src_name, src_abbr, dst, answer = big_amount, big, big_abbr, small, str(small_amount)
    else:
        src, src_name, src_abbr, dst, answer = str(small_amount), small, small_abbr, big, big_amount
    instr = rng.choice((
        f"Convert {src} {src_name} to {dst}. Give only the number, without the unit.",
        f"How many {dst} are in {src} {src_abbr}? Reply with just the exact number.",
        f"Express {src} {src_name} in {dst}. Answer with the number only (use decimals if needed, "
        f"no rounding).",
    ))
    return f"{src}{src_abbr}>{dst}", instr, "", answer
