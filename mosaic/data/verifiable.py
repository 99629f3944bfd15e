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
"""
from __future__ import annotations

import datetime
import hashlib
import math
import random
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Sequence

from .facts import TABLES


@dataclass(frozen=True, slots=True)
class VerifiableTask:
    id: str            # "vt-<family>-<8 hex digits of sha256(key)>"
    family: str        # one of FAMILIES
    instruction: str   # the task statement, explicit about the answer format
    input: str         # "" or the data to operate on
    answer: str        # canonical exact answer; also the training output


SPLITS = ("train", "heldout")
HELDOUT_FRACTION = 0.2

# ---------------------------------------------------------------------------------------------
# word lists (written for this module: common lowercase English words, letters only)

WORDS: tuple[str, ...] = tuple("""
apple river stone garden window candle forest bridge mountain pencil basket ladder
orange blanket castle dragon engine feather guitar harbor island jacket kettle lemon
magnet needle ocean pepper rabbit saddle tiger umbrella valley wagon yellow zebra
anchor bottle button carpet circle cloud copper cotton crystal desert dinner doctor
eagle elbow fabric falcon farmer fence finger flower forge fountain garlic giant glove
goat grape hammer helmet honey horse hunter jungle kitchen knight lantern leather letter
lizard marble meadow mirror monkey morning needle nest noodle orbit otter oyster paddle
palace panther parrot pebble pillow pirate planet pocket potato puzzle quarry quiet rain
ribbon rocket saffron sailor salmon scarf shadow shell silver singer sister spider spoon
square squirrel station summer sunset sweater table teacher thunder ticket timber tomato
tower travel tunnel turtle velvet violin walnut wallet water weather whistle willow winter
wizard wolf wonder yarn barn beach bell bird boat book bread brick brush cake camel card
chair chalk cheese cherry chest child clock coat corn crown cup daisy door dream drum dust
egg field fire fish flag flute fox frog glass gold grass hat hill horn house ice ink jar
kite lake lamp leaf lion map milk moon mouse nail night nut oak owl paint paper pearl pear
pig pine plum pond queen road rope rose salt sand seed ship shoe silk sky snow sock star
storm sugar sun swan tea tent tree wheel wind wing wood
bright calm clever cold crisp dark deep eager early empty fancy fast fierce gentle gloomy
grand happy heavy hollow humble kind large lively lonely loud lucky merry narrow noble
odd plain polite proud quick rapid rough round rusty shiny short silent simple sleepy
slow small smooth soft solid sour steep strange strong sunny sweet swift tall tender thick
tiny tidy warm wild wise young brave busy cheap dusty fresh golden green purple scarlet
amber violet hidden ancient modern distant gentle hungry
carry gather wander whisper borrow follow listen open paint build climb dance dig draw
drift float gallop jump laugh march melt paddle pour reach ride roll run sail sing skip
sleep swim throw travel wash watch write bake chase clean cook fetch hide knit plant
""".split())
WORDS = tuple(dict.fromkeys(WORDS))  # drop the few repeats, keep order

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_VOWELS = frozenset("aeiou")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"

# ---------------------------------------------------------------------------------------------
# helpers


def _num(value) -> str:
    """Canonical decimal text of an int/Decimal: no exponent, no trailing zeros, no '-0'."""
    if isinstance(value, int):
        return str(value)
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def _phrase(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def _distinct_words(rng: random.Random, k: int) -> list[str]:
    return rng.sample(WORDS, k)


def _numbers(rng: random.Random, k: int, lo: int, hi: int) -> list[int]:
    return rng.sample(range(lo, hi + 1), k)


def _csv(items) -> str:
    return ", ".join(str(x) for x in items)


# A builder draws parameters from the rng and returns (key_params, instruction, input, answer)
# or None to reject the candidate. ``key_params`` is the canonical parameter string: it must
# determine instruction content (up to wording) and the answer.
Built = tuple[str, str, str, str]
Builder = Callable[[random.Random], "Built | None"]

# ---------------------------------------------------------------------------------------------
# arithmetic


def _arith_add(rng: random.Random) -> Built:
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


def _arith_sub(rng: random.Random) -> Built:
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


def _arith_mul(rng: random.Random) -> Built:
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


def _arith_mixed(rng: random.Random) -> Built:
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


def _percent_of(rng: random.Random) -> Built:
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


def _unit_convert(rng: random.Random) -> Built:
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


# ---------------------------------------------------------------------------------------------
# strings


def _reverse_string(rng: random.Random) -> Built:
    text = _phrase(rng, 1, 3)
    instr = rng.choice((
        "Write the text below backwards, character by character. Give only the reversed text.",
        "Reverse the order of the characters in the following text (spaces included). "
        "Reply with just the result.",
        "Spell the text below in reverse, last character first. Answer with the reversed "
        "text only.",
    ))
    return text, instr, text, text[::-1]


def _random_case(rng: random.Random, word: str) -> str:
    return rng.choice((word, word.upper(), word.capitalize(), word[:-1] + word[-1].upper()))


def _case_convert(rng: random.Random) -> Built | None:
    words = [_random_case(rng, w) for w in _phrase(rng, 2, 5).split()]
    text = " ".join(words)
    mode = rng.choice(("upper", "lower", "title"))
    if mode == "upper":
        answer = text.upper()
        instr = rng.choice((
            "Convert the text below to uppercase. Give only the converted text.",
            "Rewrite the following text using capital letters only. Reply with just the result.",
            "Change every letter in the text below to upper case and answer with the new text "
            "only.",
        ))
    elif mode == "lower":
        answer = text.lower()
        instr = rng.choice((
            "Convert the text below to lowercase. Give only the converted text.",
            "Rewrite the following text using small (lowercase) letters only. Reply with just "
            "the result.",
            "Change every letter in the text below to lower case and answer with the new text "
            "only.",
        ))
    else:
        answer = " ".join(w.capitalize() for w in text.split())
        instr = rng.choice((
            "Rewrite the text below so that each word starts with a capital letter and all "
            "other letters are lowercase. Give only the result.",
            "Convert the following text to title case (first letter of every word uppercase, "
            "the rest lowercase). Reply with just the converted text.",
            "Capitalize the first letter of each word below and make every other letter "
            "lowercase. Answer with the new text only.",
        ))
    if answer == text:
        return None
    return f"{mode}:{text}", instr, text, answer


def _count_char(rng: random.Random) -> Built:
    text = _phrase(rng, 1, 5)
    letters = sorted(set(text.replace(" ", "")))
    letter = rng.choice(letters) if rng.random() < 0.85 else rng.choice(_LETTERS)
    instr = rng.choice((
        f"How many times does the letter '{letter}' appear in the text below? Give only the "
        f"number.",
        f"Count the occurrences of the letter \"{letter}\" in the following text. Reply with "
        f"just the count.",
        f"In the text below, how many '{letter}' characters are there? Answer with just a single "
        f"integer.",
    ))
    return f"{letter}:{text}", instr, text, str(text.count(letter))


def _count_words(rng: random.Random) -> Built:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 16))]
    sentence = " ".join(words).capitalize() + "."
    instr = rng.choice((
        "How many words are in the following sentence? Give only the number.",
        "Count the words in the sentence below. Reply with just the count.",
        "Tell me the number of words in this sentence. Answer with just a single integer.",
    ))
    return " ".join(words), instr, sentence, str(len(words))


def _vowel_count(rng: random.Random) -> Built:
    text = _phrase(rng, 1, 4)
    count = sum(ch in _VOWELS for ch in text)
    instr = rng.choice((
        "How many vowels (a, e, i, o, u; y does not count) are in the text below? Give only "
        "the number.",
        "Count the vowels in the following text, counting only the letters a, e, i, o and u. "
        "Reply with just the count.",
        "Counting a, e, i, o and u (not y), how many vowels does the text below contain? "
        "Answer with just a single integer.",
    ))
    return text, instr, text, str(count)


def _join_words(rng: random.Random) -> Built:
    words = _distinct_words(rng, rng.randint(3, 6))
    sep = rng.choice(("-", "_", "/", "|", ";", "+", " ", "::", "*", "~"))
    shown = "a single space" if sep == " " else f'"{sep}"'
    instr = rng.choice((
        f"Join the words below in the given order, using {shown} as the separator. "
        f"Give only the joined text.",
        f"Combine the following words into one string, keeping their order and putting "
        f"{shown} between consecutive words. Reply with just the result.",
        f"Write the listed words one after another, separated by {shown}. Answer with the "
        f"joined text only.",
    ))
    return f"{sep!r}:{','.join(words)}", instr, _csv(words), sep.join(words)


# ---------------------------------------------------------------------------------------------
# lists


def _sort_numbers(rng: random.Random) -> Built:
    nums = _numbers(rng, rng.randint(4, 8), -50, 999) if rng.random() < 0.3 else \
        _numbers(rng, rng.randint(4, 8), 1, 999)
    desc = rng.random() < 0.5
    order = "descending order (largest first)" if desc else "ascending order (smallest first)"
    instr = rng.choice((
        f"Sort the numbers below in {order}. Answer with only the numbers, separated by commas.",
        f"Arrange the following numbers in {order}. Give only the sorted numbers, separated "
        f"by commas.",
        f"Put these numbers in {order} and reply with just the sorted list, comma-separated.",
    ))
    return (f"{'desc' if desc else 'asc'}:{','.join(map(str, nums))}", instr, _csv(nums),
            _csv(sorted(nums, reverse=desc)))


def _sort_words(rng: random.Random) -> Built:
    words = _distinct_words(rng, rng.randint(4, 8))
    desc = rng.random() < 0.3
    order = "reverse alphabetical order (Z to A)" if desc else "alphabetical order (A to Z)"
    instr = rng.choice((
        f"Sort the words below in {order}. Answer with only the words, separated by commas.",
        f"Arrange the following words in {order}. Give only the sorted words, separated by "
        f"commas.",
        f"Put these words in {order} and reply with just the sorted list, comma-separated.",
    ))
    return (f"{'desc' if desc else 'asc'}:{','.join(words)}", instr, _csv(words),
            _csv(sorted(words, reverse=desc)))


def _list_extreme(rng: random.Random) -> Built:
    lo = -99 if rng.random() < 0.3 else 1
    nums = _numbers(rng, rng.randint(4, 9), lo, 999)
    biggest = rng.random() < 0.5
    which = rng.choice(("largest", "greatest", "maximum")) if biggest else \
        rng.choice(("smallest", "lowest", "minimum"))
    instr = rng.choice((
        f"What is the {which} number in the list below? Give only the number.",
        f"Find the {which} value among the following numbers. Reply with just that number.",
        f"From the numbers below, report the {which} one. Answer with the number only.",
    ))
    return (f"{'max' if biggest else 'min'}:{','.join(map(str, nums))}", instr, _csv(nums),
            str(max(nums) if biggest else min(nums)))


def _list_sum(rng: random.Random) -> Built:
    lo = -99 if rng.random() < 0.25 else 1
    nums = [rng.randint(lo, 999) for _ in range(rng.randint(3, 7))]
    instr = rng.choice((
        "What is the sum of the numbers below? Give only the number.",
        "Add up all of the following numbers. Reply with just the total.",
        "Compute the total of this list of numbers and answer with the number only.",
    ))
    return ",".join(map(str, nums)), instr, _csv(nums), str(sum(nums))


def _dedupe_list(rng: random.Random) -> Built | None:
    if rng.random() < 0.6:
        pool: list = _distinct_words(rng, rng.randint(3, 6))
    else:
        pool = _numbers(rng, rng.randint(3, 6), 1, 99)
    items = pool + [rng.choice(pool) for _ in range(rng.randint(2, 5))]
    rng.shuffle(items)
    unique = list(dict.fromkeys(items))
    if len(unique) == len(items):
        return None
    instr = rng.choice((
        "Remove the duplicates from the list below, keeping only the first occurrence of each "
        "item in its original order. Answer with only the items, separated by commas.",
        "Rewrite the following list with repeated items removed (keep each item where it "
        "first appears). Give only the resulting list, comma-separated.",
        "Drop every repeat from this list so each item appears once, preserving the order of "
        "first appearance. Reply with just the items, separated by commas.",
    ))
    return ",".join(map(str, items)), instr, _csv(items), _csv(unique)


# ---------------------------------------------------------------------------------------------
# dates

# name -> (description used in instructions, formatter)
_DATE_FORMATS: dict[str, tuple[str, Callable[[datetime.date], str]]] = {
    "iso": ("YYYY-MM-DD", lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    "dmy": ("DD/MM/YYYY", lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}"),
    "mdy": ("MM/DD/YYYY", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year:04d}"),
    "dot": ("DD.MM.YYYY", lambda d: f"{d.day:02d}.{d.month:02d}.{d.year:04d}"),
    "ymd": ("YYYY/MM/DD", lambda d: f"{d.year:04d}/{d.month:02d}/{d.day:02d}"),
    "compact": ("YYYYMMDD (eight digits, no separators)",
                lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
    "long": ("Month D, YYYY (full month name, day without a leading zero)",
             lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}"),
    "euro_long": ("D Month YYYY (day without a leading zero, full month name)",
                  lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}"),
}
_DATE_SOURCES = ("iso", "iso", "dmy", "mdy", "long")


def _format_date(rng: random.Random) -> Built:
    day = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(36525))
    src = rng.choice(_DATE_SOURCES)
    dst = rng.choice([f for f in _DATE_FORMATS if f != src])
    src_desc, src_fmt = _DATE_FORMATS[src]
    dst_desc, dst_fmt = _DATE_FORMATS[dst]
    shown = src_fmt(day)
    instr = rng.choice((
        f"The date {shown} is written as {src_desc.split(' (')[0]}. Rewrite it in the format "
        f"{dst_desc}. Give only the date.",
        f"Convert the date {shown} (format {src_desc.split(' (')[0]}) to the format {dst_desc}. "
        f"Reply with just the converted date.",
        f"Reformat {shown}, which is given as {src_desc.split(' (')[0]}, into {dst_desc}. "
        f"Answer with the date only.",
    ))
    return f"{day.isoformat()}:{src}>{dst}", instr, "", dst_fmt(day)


# ---------------------------------------------------------------------------------------------
# table lookup


def _table_lookup(rng: random.Random) -> Built:
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


# ---------------------------------------------------------------------------------------------
# registry

# family -> (builder, answer kind). Kinds: "number" (numeric), "text" (case-insensitive),
# "exact" (case-sensitive), "list" (comma-separated, element-wise), "joined" (text whose
# spacing around punctuation is ignored), "auto" (number if the answer is numeric, else text).
_FAMILY_SPECS: dict[str, tuple[Builder, str]] = {
    "arith_add": (_arith_add, "number"),
    "arith_sub": (_arith_sub, "number"),
    "arith_mul": (_arith_mul, "number"),
    "arith_mixed": (_arith_mixed, "number"),
    "percent_of": (_percent_of, "number"),
    "unit_convert": (_unit_convert, "number"),
    "reverse_string": (_reverse_string, "text"),
    "case_convert": (_case_convert, "exact"),
    "count_char": (_count_char, "number"),
    "count_words": (_count_words, "number"),
    "vowel_count": (_vowel_count, "number"),
    "join_words": (_join_words, "joined"),
    "sort_numbers": (_sort_numbers, "list"),
    "sort_words": (_sort_words, "list"),
    "list_extreme": (_list_extreme, "number"),
    "list_sum": (_list_sum, "number"),
    "dedupe_list": (_dedupe_list, "list"),
    "format_date": (_format_date, "joined"),
    "table_lookup": (_table_lookup, "auto"),
}
_BUILDERS: dict[str, Builder] = {f: spec[0] for f, spec in _FAMILY_SPECS.items()}
_KINDS: dict[str, str] = {f: spec[1] for f, spec in _FAMILY_SPECS.items()}
FAMILIES: tuple[str, ...] = tuple(_FAMILY_SPECS)

# attempts allowed per family: generous (about 5 candidates per heldout task are expected)
_ATTEMPTS_BASE = 200
_ATTEMPTS_PER_TASK = 40

# ---------------------------------------------------------------------------------------------
# split, ids, generation


def _digest(task_key: str) -> bytes:
    return hashlib.sha256(task_key.encode("utf-8")).digest()


def split_of(task_key: str) -> str:
    """``"heldout"`` for about 20% of keys, else ``"train"``; a pure function of the key."""
    bucket = int.from_bytes(_digest(task_key)[:8], "big") % 10_000
    return "heldout" if bucket < HELDOUT_FRACTION * 10_000 else "train"


def task_key(family: str, params: str) -> str:
    return f"{family}|{params}"


def _task_id(family: str, key: str) -> str:
    return f"vt-{family}-{_digest(key)[-4:].hex()}"


def _family_tasks(family: str, split: str, count: int, seed: int) -> list[VerifiableTask]:
    builder = _BUILDERS[family]
    out: list[VerifiableTask] = []
    seen_keys: set[str] = set()
    seen_text: set[tuple[str, str]] = set()
    limit = _ATTEMPTS_BASE + _ATTEMPTS_PER_TASK * count
    attempt = 0
    while len(out) < count:
        if attempt >= limit:
            raise ValueError(
                f"verifiable family {family!r} ran dry: only {len(out)} of {count} distinct "
                f"{split!r} tasks after {limit} attempts (seed={seed})")
        rng = random.Random(f"{seed}:{family}:{attempt}")
        attempt += 1
        built = builder(rng)
        if built is None:
            continue
        params, instruction, inp, answer = built
        key = task_key(family, params)
        if key in seen_keys or split_of(key) != split:
            continue
        seen_keys.add(key)
        if (instruction, inp) in seen_text:
            continue
        seen_text.add((instruction, inp))
        out.append(VerifiableTask(_task_id(family, key), family, instruction, inp, answer))
    return out


def generate(split: str, n: int, seed: int = 0,
             families: Sequence[str] | None = None) -> list[VerifiableTask]:
    """n distinct tasks of the split, families interleaved round-robin, deterministic for
    (split, n, seed, families)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(families, str):
        families = [families]
    fams = list(dict.fromkeys(FAMILIES if families is None else families))
    unknown = [f for f in fams if f not in _BUILDERS]
    if unknown:
        raise ValueError(f"unknown verifiable families {unknown}; known: {', '.join(FAMILIES)}")
    if not fams:
        raise ValueError("families must name at least one family")
    k = len(fams)
    per_family = [_family_tasks(f, split, n // k + (i < n % k), seed) if n else []
                  for i, f in enumerate(fams)]
    return [per_family[i % k][i // k] for i in range(n)]


def to_record(task: VerifiableTask) -> dict:
    return {"id": task.id, "instruction": task.instruction, "input": task.input,
            "output": task.answer, "source": f"verifiable/{task.family}"}


# ---------------------------------------------------------------------------------------------
# checking

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_GROUPED_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_SPACE_RE = re.compile(r"\s+")
_PUNCT_SPACE_RE = re.compile(r"\s*([^\w\s])\s*")
_MAX_LEN = 10_000


def _clean(text: str) -> str:
    text = text.strip()
    if text.endswith("."):
        text = text[:-1].rstrip()
    return text


def _parse_number(text: str) -> float | None:
    text = text.strip().replace("\u2212", "-")
    if _GROUPED_RE.fullmatch(text):
        text = text.replace(",", "")
    if not _NUMBER_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _numbers_equal(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def _text_key(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip().casefold()


def _items_equal(expected: str, got: str) -> bool:
    a, b = _parse_number(expected), _parse_number(got)
    if a is not None and b is not None:
        return _numbers_equal(a, b)
    return _text_key(expected) == _text_key(got)


def _check_kind(kind: str, answer: str, response: str) -> bool:
    if kind == "auto":
        kind = "number" if _parse_number(answer) is not None else "text"
    if kind == "number":
        a, b = _parse_number(answer), _parse_number(response)
        return a is not None and b is not None and _numbers_equal(a, b)
    if kind == "exact":
        return _SPACE_RE.sub(" ", answer).strip() == _SPACE_RE.sub(" ", response).strip()
    if kind == "list":
        want = [x.strip() for x in answer.split(",")]
        got = [x.strip() for x in response.split(",")]
        return len(want) == len(got) and all(_items_equal(w, g) for w, g in zip(want, got))
    if kind == "joined":
        def norm(s: str) -> str:
            return _PUNCT_SPACE_RE.sub(r"\1", _text_key(s))
        # a space separator survives as single spaces between words, which norm() keeps
        return norm(answer) == norm(response)
    return _text_key(answer) == _text_key(response)


def check(task: VerifiableTask, response: str) -> bool:
    """True iff response gives task.answer, after family-appropriate normalisation.

    Whitespace around the response and one trailing period are ignored; comparison is
    case-insensitive except for ``case_convert``; numbers compare numerically (relative
    tolerance 1e-9, thousands separators as in ``1,234`` accepted); list answers compare
    element-wise after splitting on commas. Never raises: anything unusable is ``False``.
    """
    try:
        if not isinstance(response, str) or len(response) > _MAX_LEN + len(task.answer):
            return False
        return _check_kind(_KINDS.get(task.family, "text"), _clean(task.answer), _clean(response))
    except Exception:  # a checker must score, never crash an evaluation run
        return False
