"""The list task families: ``sort_numbers``, ``sort_words``, ``list_extreme``, ``list_sum`` and
``dedupe_list``, over comma-separated numbers or words; answers are comma-separated lists or single numbers,
checked element-wise.
"""
from __future__ import annotations

import random

from .base import Built, csv, distinct_numbers, distinct_words


def sort_numbers(rng: random.Random) -> Built:
    nums = distinct_numbers(rng, rng.randint(4, 8), -50, 999) if rng.random() < 0.3 else \
        distinct_numbers(rng, rng.randint(4, 8), 1, 999)
    desc = rng.random() < 0.5
    order = "descending order (largest first)" if desc else "ascending order (smallest first)"
    instr = rng.choice((
        f"Sort the numbers below in {order}. Answer with only the numbers, separated by commas.",
        f"Arrange the following numbers in {order}. Give only the sorted numbers, separated "
        f"by commas.",
        f"Put these numbers in {order} and reply with just the sorted list, comma-separated.",
    ))
    return (f"{'desc' if desc else 'asc'}:{','.join(map(str, nums))}", instr, csv(nums),
            csv(sorted(nums, reverse=desc)))


def sort_words(rng: random.Random) -> Built:
    words = distinct_words(rng, rng.randint(4, 8))
    desc = rng.random() < 0.3
    order = "reverse alphabetical order (Z to A)" if desc else "alphabetical order (A to Z)"
    instr = rng.choice((
        f"Sort the words below in {order}. Answer with only the words, separated by commas.",
        f"Arrange the following words in {order}. Give only the sorted words, separated by "
        f"commas.",
        f"Put these words in {order} and reply with just the sorted list, comma-separated.",
    ))
    return (f"{'desc' if desc else 'asc'}:{','.join(words)}", instr, csv(words),
            csv(sorted(words, reverse=desc)))


def list_extreme(rng: random.Random) -> Built:
    lo = -99 if rng.random() < 0.3 else 1
    nums = distinct_numbers(rng, rng.randint(4, 9), lo, 999)
    biggest = rng.random() < 0.5
    which = rng.choice(("largest", "greatest", "maximum")) if biggest else \
        rng.choice(("smallest", "lowest", "minimum"))
    instr = rng.choice((
        f"What is the {which} number in the list below? Give only the number.",
        f"Find the {which} value among the following numbers. Reply with just that number.",
        f"From the numbers below, report the {which} one. Answer with the number only.",
    ))
    return (f"{'max' if biggest else 'min'}:{','.join(map(str, nums))}", instr, csv(nums),
            str(max(nums) if biggest else min(nums)))


def list_sum(rng: random.Random) -> Built:
    lo = -99 if rng.random() < 0.25 else 1
    nums = [rng.randint(lo, 999) for _ in range(rng.randint(3, 7))]
    instr = rng.choice((
        "What is the sum of the numbers below? Give only the number.",
        "Add up all of the following numbers. Reply with just the total.",
        "Compute the total of this list of numbers and answer with the number only.",
    ))
    return ",".join(map(str, nums)), instr, csv(nums), str(sum(nums))


def dedupe_list(rng: random.Random) -> Built | None:
    if rng.random() < 0.6:
        pool: list = distinct_words(rng, rng.randint(3, 6))
    else:
        pool = distinct_numbers(rng, rng.randint(3, 6), 1, 99)
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
    return ",".join(map(str, items)), instr, csv(items), csv(unique)
