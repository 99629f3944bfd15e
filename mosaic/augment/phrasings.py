"""Meta-instruction phrasings for Mosaic-IT, written from scratch for this project.

The ``train`` wordings are sampled by the augmentation; the ``heldout`` wordings are
never used in training and are reserved for evaluating generalisation to unseen phrasings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phrasings:
    """Meta-instruction templates for one rule, split into training and held-out wordings."""

    train: tuple[str, ...]
    heldout: tuple[str, ...]


# ---------------------------------------------------------------------------
# Format rules
# ---------------------------------------------------------------------------

FORMAT_TAGGED = Phrasings(
    train=(
        "Put each of your responses between {begin} and {end}.",
        "Wrap every answer in the markers {begin} and {end}.",
        "Please start each response with {begin} and finish it with {end}.",
        "Enclose every individual reply within {begin} and {end}.",
        "Begin every answer with {begin}, and close it with {end}.",
        "For each task below, write your answer between the tags {begin} and {end}.",
        "Each response must open with {begin} and end with {end}.",
        "Please surround every one of your answers with {begin} at the start and {end} at the end.",
        "Mark the beginning of each answer with {begin} and its end with {end}.",
        "Respond to every instruction, placing each response inside {begin} and {end}.",
        "Use {begin} before and {end} after each of your replies.",
        "Kindly frame each separate answer by opening with {begin} and closing with {end}.",
        "Every answer you give should sit between {begin} and {end}.",
        "Answer all of the instructions, and delimit each answer using {begin} and {end}.",
    ),
    heldout=(
        "Each output needs its own pair of delimiters: {begin} in front of it and {end} behind it.",
        "Tag every solution so that {begin} precedes it and {end} follows it.",
        "Let {begin} introduce and {end} conclude each of the replies you produce.",
        "Treat each reply as a separate block that opens on {begin} and terminates on {end}.",
    ),
)

FORMAT_PLAIN = Phrasings(
    train=(
        "Respond to each of the following instructions.",
        "Please answer every question below.",
        "Complete all of the tasks listed below.",
        "Give a response to every instruction that follows.",
        "Address each of the instructions below in turn.",
        "Please provide an answer for all of the following prompts.",
        "Below are several instructions; reply to each one.",
        "Handle every one of the requests listed below.",
    ),
    heldout=(
        "None of the items below should go unanswered, so work through them all.",
        "Your job is to produce a reply for each numbered entry that appears next.",
        "Several requests come after this sentence, and each one deserves its own solution.",
    ),
)


# ---------------------------------------------------------------------------
# Permute rules: the order in which responses are given
# ---------------------------------------------------------------------------

PERMUTE: dict[str, Phrasings] = {
    "fixed": Phrasings(
        train=(
            "Answer the instructions in this sequence: {order}.",
            "Please respond to the instructions following the order {order}.",
            "Give your responses in the order {order}.",
            "Reply to the instructions below, arranging your answers as {order}.",
            "Use the order {order} when answering the instructions.",
            "Address the instructions according to this ordering: {order}.",
        ),
        heldout=(
            "The sequence of your replies must match {order}, regardless of how the tasks are listed.",
            "Work through the tasks by following the numbering {order} from start to finish.",
        ),
    ),
    "reverse": Phrasings(
        train=(
            "Answer the instructions in reverse order, starting with the last one and ending with the first.",
            "Please respond to the instructions from last to first.",
            "Begin with the final instruction and work backwards to the first one.",
            "Reply to the instructions in reverse order, so the last instruction is answered first.",
            "Give your answers in reverse: the last instruction first, the first instruction last.",
            "Respond starting from the bottom instruction and moving up to the top one.",
        ),
        heldout=(
            "Flip the listed sequence around: the task that appears last gets handled first, and the opening task gets handled last.",
            "Produce your outputs backwards relative to the numbering, beginning with the highest-numbered item and finishing with item one.",
        ),
    ),
    "alpha": Phrasings(
        train=(
            "Answer the instructions in alphabetical order of their text, from A to Z.",
            "Please respond to the instructions sorted alphabetically, A to Z.",
            "Sort the instructions alphabetically from A to Z and answer them in that order.",
            "Reply to the instructions in A-to-Z alphabetical order based on their wording.",
            "Give your responses following the alphabetical order of the instructions, A first and Z last.",
            "Arrange your answers so the instructions are handled in ascending alphabetical order, A to Z.",
        ),
        heldout=(
            "Treat the tasks like dictionary entries and reply to them in the order a dictionary would list them, A through Z.",
            "Whichever task text comes earliest in the alphabet should be handled first, continuing lexicographically up to Z.",
        ),
    ),
    "alpha_reverse": Phrasings(
        train=(
            "Answer the instructions in reverse alphabetical order of their text, from Z to A.",
            "Please respond to the instructions sorted alphabetically in descending order, Z to A.",
            "Sort the instructions from Z to A and answer them in that order.",
            "Reply to the instructions in Z-to-A order based on their wording.",
            "Give your responses in reverse alphabetical order of the instructions, Z first and A last.",
            "Arrange your answers so the instructions are handled in descending alphabetical order, Z to A.",
        ),
        heldout=(
            "Treat the tasks like dictionary entries, but reply to them backwards, going from Z through A.",
            "Whichever task text comes latest in the alphabet should be handled first, continuing lexicographically down to A.",
        ),
    ),
    "words_asc": Phrasings(
        train=(
            "Answer the instructions from the fewest words to the most words.",
            "Please respond to the instructions sorted by word count, with the fewest words first.",
            "Begin with the instruction that has the fewest words and end with the one that has the most words.",
            "Order your responses by the number of words in each instruction, lowest word count first.",
            "Reply to the instructions in increasing order of word count.",
            "Sort the instructions by how many words they contain, fewest first, and answer them in that order.",
        ),
        heldout=(
            "Count the words in every task, then handle the tasks starting from the smallest tally and moving up to the largest.",
            "Brevity measured in words decides the sequence: the task with the lowest word total gets the first reply.",
        ),
    ),
    "words_desc": Phrasings(
        train=(
            "Answer the instructions from the most words to the fewest words.",
            "Please respond to the instructions sorted by word count, with the most words first.",
            "Begin with the instruction that has the most words and end with the one that has the fewest words.",
            "Order your responses by the number of words in each instruction, highest word count first.",
            "Reply to the instructions in decreasing order of word count.",
            "Sort the instructions by how many words they contain, most first, and answer them in that order.",
        ),
        heldout=(
            "Count the words in every task, then handle the tasks starting from the largest tally and moving down to the smallest.",
            "Wordiness decides the sequence: the task with the highest word total gets the first reply.",
        ),
    ),
    "chars_asc": Phrasings(
        train=(
            "Answer the instructions from the fewest characters to the most characters.",
            "Please respond to the instructions sorted by character count, with the fewest characters first.",
            "Begin with the instruction that has the fewest characters and end with the one that has the most characters.",
            "Order your responses by the number of characters in each instruction, lowest character count first.",
            "Reply to the instructions in increasing order of character length.",
            "Sort the instructions by how many characters they contain, fewest first, and answer them in that order.",
        ),
        heldout=(
            "Measure every task by its character total, and let the one with the smallest total receive the first reply.",
            "The shorter a task is in characters, the earlier its solution should appear.",
        ),
    ),
    "chars_desc": Phrasings(
        train=(
            "Answer the instructions from the most characters to the fewest characters.",
            "Please respond to the instructions sorted by character count, with the most characters first.",
            "Begin with the instruction that has the most characters and end with the one that has the fewest characters.",
            "Order your responses by the number of characters in each instruction, highest character count first.",
            "Reply to the instructions in decreasing order of character length.",
            "Sort the instructions by how many characters they contain, most first, and answer them in that order.",
        ),
        heldout=(
            "Measure every task by its character total, and let the one with the largest total receive the first reply.",
            "The longer a task is in characters, the earlier its solution should appear.",
        ),
    ),
    "odd_even": Phrasings(
        train=(
            "Answer all odd-numbered instructions first (1, 3, 5, ...), then the even-numbered ones (2, 4, ...).",
            "Please respond to the odd-numbered instructions before the even-numbered ones.",
            "Start with instructions 1, 3, 5 and so on, then go back and answer 2, 4, 6 and so on.",
            "Reply to every odd-numbered instruction first, followed by every even-numbered instruction.",
            "Handle the instructions at odd positions first, and only then the ones at even positions.",
            "Give your answers to the odd-numbered instructions in ascending order, then to the even-numbered instructions in ascending order.",
        ),
        heldout=(
            "Go through the list by twos starting at item one; when you reach the end, return to item two and proceed by twos again.",
            "Items carrying an odd index come first in your output; items carrying an even index come afterwards.",
        ),
    ),
    "even_odd": Phrasings(
        train=(
            "Answer all even-numbered instructions first (2, 4, ...), then the odd-numbered ones (1, 3, 5, ...).",
            "Please respond to the even-numbered instructions before the odd-numbered ones.",
            "Start with instructions 2, 4, 6 and so on, then go back and answer 1, 3, 5 and so on.",
            "Reply to every even-numbered instruction first, followed by every odd-numbered instruction.",
            "Handle the instructions at even positions first, and only then the ones at odd positions.",
            "Give your answers to the even-numbered instructions in ascending order, then to the odd-numbered instructions in ascending order.",
        ),
        heldout=(
            "Go through the list by twos starting at item two; when you reach the end, return to item one and proceed by twos again.",
            "Items carrying an even index come first in your output; items carrying an odd index come afterwards.",
        ),
    ),
}


# ---------------------------------------------------------------------------
# Maskout rules: which instructions to ignore
# ---------------------------------------------------------------------------

MASKOUT: dict[str, Phrasings] = {
    "fixed": Phrasings(
        train=(
            "Ignore instructions {masked} and answer all of the others.",
            "Please do not respond to instructions {masked}; answer the rest.",
            "Skip instructions {masked} and reply to the remaining ones.",
            "Answer every instruction except {masked}.",
            "Leave instructions {masked} unanswered and respond to everything else.",
            "Respond to the instructions below, but give no answer for {masked}.",
        ),
        heldout=(
            "Treat the items numbered {masked} as if they were never written, and handle whatever remains.",
            "Only tasks other than {masked} should receive a reply.",
        ),
    ),
    "longest": Phrasings(
        train=(
            "Skip the {k} {noun} with the most words and answer the others.",
            "Ignore the {k} longest {noun} by word count and respond to the rest.",
            "Please do not answer the {k} {noun} containing the most words; reply to all remaining ones.",
            "Leave out the {k} {noun} with the highest word count, and answer everything else.",
            "Answer every instruction except the {k} {noun} with the greatest number of words.",
            "Measured in words, the {k} longest {noun} should be ignored; please answer all others.",
        ),
        heldout=(
            "Rank the tasks from most to fewest words; the first {k} {noun} in that ranking must receive no reply, but every other task should.",
            "Of all the items, drop the {k} wordiest {noun} and produce solutions for whatever is left.",
        ),
    ),
    "shortest": Phrasings(
        train=(
            "Skip the {k} {noun} with the fewest words and answer the others.",
            "Ignore the {k} shortest {noun} by word count and respond to the rest.",
            "Please do not answer the {k} {noun} containing the fewest words; reply to all remaining ones.",
            "Leave out the {k} {noun} with the lowest word count, and answer everything else.",
            "Answer every instruction except the {k} {noun} with the smallest number of words.",
            "Measured in words, the {k} shortest {noun} should be ignored; please answer all others.",
        ),
        heldout=(
            "Rank the tasks from fewest to most words; the first {k} {noun} in that ranking must receive no reply, but every other task should.",
            "Of all the items, drop the {k} {noun} having the smallest word total and produce solutions for whatever is left.",
        ),
    ),
    "odd": Phrasings(
        train=(
            "Ignore every odd-numbered instruction and answer only the even-numbered ones.",
            "Please skip instructions 1, 3, 5, and so on, and respond to the rest.",
            "Do not answer the odd-numbered instructions; reply only to those with even numbers.",
            "Respond to the even-numbered instructions only, leaving all odd-numbered ones unanswered.",
            "Leave out any instruction at an odd position and answer the others.",
            "Answer the instructions numbered 2, 4, 6, and so on, and ignore all the odd-numbered ones.",
        ),
        heldout=(
            "Any item whose index is odd gets no reply; every item with an even index should be handled.",
            "Pretend the first, third, fifth, and every later odd item is absent, and work on what remains.",
        ),
    ),
    "even": Phrasings(
        train=(
            "Ignore every even-numbered instruction and answer only the odd-numbered ones.",
            "Please skip instructions 2, 4, 6, and so on, and respond to the rest.",
            "Do not answer the even-numbered instructions; reply only to those with odd numbers.",
            "Respond to the odd-numbered instructions only, leaving all even-numbered ones unanswered.",
            "Leave out any instruction at an even position and answer the others.",
            "Answer the instructions numbered 1, 3, 5, and so on, and ignore all the even-numbered ones.",
        ),
        heldout=(
            "Any item whose index is even gets no reply; every item with an odd index should be handled.",
            "Pretend the second, fourth, sixth, and every later even item is absent, and work on what remains.",
        ),
    ),
}


def all_phrasings() -> dict[str, Phrasings]:
    """Every rule's phrasings keyed 'format/tagged', 'format/plain', 'permute/<rule>', 'maskout/<rule>'."""
    result: dict[str, Phrasings] = {
        "format/tagged": FORMAT_TAGGED,
        "format/plain": FORMAT_PLAIN,
    }
    for rule, phrasings in PERMUTE.items():
        result[f"permute/{rule}"] = phrasings
    for rule, phrasings in MASKOUT.items():
        result[f"maskout/{rule}"] = phrasings
    return result
