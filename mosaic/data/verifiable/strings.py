"""The string task families: ``reverse_string``, ``case_convert``, ``count_char``, ``count_words``,
``vowel_count`` and ``join_words``, built from phrases of the shared word list. Each answer is a pure function
of the phrase and the drawn parameters.
"""
from __future__ import annotations

import random

from .base import Built, csv, distinct_words, phrase
from .words import LETTERS, VOWELS, WORDS


def reverse_string(rng: random.Random) -> Built:
    text = phrase(rng, 1, 3)
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


def case_convert(rng: random.Random) -> Built | None:
    words = [_random_case(rng, w) for w in phrase(rng, 2, 5).split()]
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


def count_char(rng: random.Random) -> Built:
    text = phrase(rng, 1, 5)
    letters = sorted(set(text.replace(" ", "")))
    letter = rng.choice(letters) if rng.random() < 0.85 else rng.choice(LETTERS)
    instr = rng.choice((
        f"How many times does the letter '{letter}' appear in the text below? Give only the "
        f"number.",
        f"Count the occurrences of the letter \"{letter}\" in the following text. Reply with "
        f"just the count.",
        f"In the text below, how many '{letter}' characters are there? Answer with just a single "
        f"integer.",
    ))
    return f"{letter}:{text}", instr, text, str(text.count(letter))


def count_words(rng: random.Random) -> Built:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 16))]
    sentence = " ".join(words).capitalize() + "."
    instr = rng.choice((
        "How many words are in the following sentence? Give only the number.",
        "Count the words in the sentence below. Reply with just the count.",
        "Tell me the number of words in this sentence. Answer with just a single integer.",
    ))
    return " ".join(words), instr, sentence, str(len(words))


def vowel_count(rng: random.Random) -> Built:
    text = phrase(rng, 1, 4)
    count = sum(ch in VOWELS for ch in text)
    instr = rng.choice((
        "How many vowels (a, e, i, o, u; y does not count) are in the text below? Give only "
        "the number.",
        "Count the vowels in the following text, counting only the letters a, e, i, o and u. "
        "Reply with just the count.",
        "Counting a, e, i, o and u (not y), how many vowels does the text below contain? "
        "Answer with just a single integer.",
    ))
    return text, instr, text, str(count)


def join_words(rng: random.Random) -> Built:
    words = distinct_words(rng, rng.randint(3, 6))
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
    return f"{sep!r}:{','.join(words)}", instr, csv(words), sep.join(words)
