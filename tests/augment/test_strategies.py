"""Each strategy against hand-checked expectations, on rendered text, over many seeds."""
import random
import re
from collections import Counter

import pytest

from mosaic.augment import phrasings
from mosaic.augment.sample import Item
from mosaic.augment.strategies import MIXES, STRATEGIES, Vocabulary, compose, parse_mix, register
from mosaic.augment.strategies.maskout import NUMBERED_RULES as MASK_NUMBERED, masked_indices
from mosaic.augment.strategies.permute import NUMBERED_RULES as ORDER_NUMBERED, ORDER_RULES

ITEMS = [
    Item("a", "banana bread recipe please", "OUT-A slice and bake."),
    Item("b", "Apple?", "OUT-B a fruit."),
    Item("c", "cherry pie steps for a beginner baker today", "OUT-C roll the dough."),
    Item("d", "date", "OUT-D a sweet fruit."),
]
VOCAB = Vocabulary("train")

HAND_CHECKED = {  # words: 4, 1, 8, 1; chars: 26, 6, 43, 4; casefolded alphabetical: apple, banana, cherry, date
    "reverse": [3, 2, 1, 0],
    "alpha": [1, 0, 2, 3],
    "alpha_reverse": [3, 2, 0, 1],
    "words_asc": [1, 3, 0, 2],
    "words_desc": [2, 0, 1, 3],
    "chars_asc": [3, 1, 0, 2],
    "chars_desc": [2, 0, 1, 3],
    "odd_even": [0, 2, 1, 3],
    "even_odd": [1, 3, 0, 2],
}


@pytest.mark.parametrize("rule,expected", sorted(HAND_CHECKED.items()))
def test_order_rules_hand_checked(rule, expected):
    assert ORDER_RULES[rule](ITEMS) == expected


def test_alpha_is_case_insensitive_unlike_released_code():
    items = [Item("x", "zebra facts", "z"), Item("y", "Aardvark facts", "a"), Item("z", "mango", "m")]
    assert ORDER_RULES["alpha"](items) == [1, 2, 0]


@pytest.mark.parametrize("rule,k,expected", [("longest", 2, [0, 2]), ("shortest", 2, [1, 3]), ("shortest", 1, [1]),
                                             ("odd", 0, [0, 2]), ("even", 0, [1, 3])])
def test_mask_rules_hand_checked(rule, k, expected):
    assert masked_indices(rule, ITEMS, k, random.Random(0)) == expected


def response_positions(output: str, items) -> list[int]:
    """Indices of items whose response appears in ``output``, in order of appearance."""
    found = [(output.find(it.output), i) for i, it in enumerate(items) if it.output in output]
    return [i for _, i in sorted(found)]


def numbers_in(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text)]


def plans(name, n=400, items=ITEMS):
    for seed in range(n):
        plan = STRATEGIES[name](items, random.Random(seed), VOCAB)
        yield plan, *plan.render(items)


def test_permute_really_orders_the_rendered_responses():
    seen = Counter()
    for plan, instruction, output in plans("permute"):
        seen[plan.rule] += 1
        assert response_positions(output, ITEMS) == plan.order
        assert sorted(plan.order) == [0, 1, 2, 3] and plan.masked == []
        if plan.rule == "fixed":
            assert numbers_in(plan.metas[-1].text) == [i + 1 for i in plan.order]
        else:
            assert plan.order == HAND_CHECKED[plan.rule]
        assert plan.metas[-1].phrasing.startswith(f"permute/{plan.rule}#")
        assert plan.metas[-1].text in instruction
    assert set(seen) == set(ORDER_RULES)


def test_maskout_really_removes_masked_responses():
    seen = Counter()
    for plan, instruction, output in plans("maskout"):
        seen[plan.rule] += 1
        kept = [i for i in range(4) if i not in plan.masked]
        assert response_positions(output, ITEMS) == kept == plan.order
        assert 1 <= len(plan.masked) <= 3
        if plan.rule in ("fixed", "longest", "shortest"):
            assert len(plan.masked) <= 2  # ratio <= 0.5
        if plan.rule == "fixed":
            assert numbers_in(plan.metas[-1].text) == [i + 1 for i in plan.masked]
        if plan.rule in ("longest", "shortest"):
            assert plan.masked == masked_indices(plan.rule, ITEMS, len(plan.masked), random.Random())
            assert str(len(plan.masked)) in plan.metas[-1].text
        # every instruction is still shown, masked or not
        assert all(it.prompt in instruction for it in ITEMS)
    assert set(seen) == {"fixed", "longest", "shortest", "odd", "even"}


@pytest.mark.parametrize("name", ["format", "permute", "maskout", "primary"])
def test_tags_consistent_between_instructions_meta_and_responses(name):
    for plan, instruction, output in plans(name, 200):
        for i, it in enumerate(ITEMS):
            assert plan.tag(i) + it.prompt in instruction
            if i in plan.order:
                assert f"{plan.tag(i)}{plan.begin}{it.output}{plan.end}" in output
        if plan.begin:
            fmt = [m for m in plan.metas if m.phrasing.startswith("format/tagged")]
            assert len(fmt) == 1 and plan.begin in fmt[0].text and plan.end in fmt[0].text
            assert output.count(plan.begin) >= len(plan.order)
        if plan.number_style is not None:
            assert plan.tag(0) != plan.tag(1)


def test_rules_that_cite_numbers_always_have_numbered_instructions():
    for name, numbered in (("permute", ORDER_NUMBERED), ("maskout", MASK_NUMBERED)):
        for plan, *_ in plans(name, 600):
            if plan.rule in numbered:
                assert plan.number_style is not None


def test_format_branch_frequencies_match_released_code():
    c = Counter()
    for plan, *_ in plans("format", 4000):
        c["tagged" if plan.begin else ("plain" if plan.metas else "none")] += 1
        c["numbered"] += plan.number_style is not None
    assert abs(c["tagged"] / 4000 - 0.5) < 0.04 and abs(c["plain"] / 4000 - 0.25) < 0.04
    assert abs(c["numbered"] / 4000 - 0.9) < 0.03


def test_primary_is_numbered_plain_concatenation():
    for plan, instruction, output in plans("primary", 100):
        assert plan.metas == [] and plan.begin == "" and plan.number_style is not None
        assert response_positions(output, ITEMS) == [0, 1, 2, 3]


def test_all_mix_draws_three_strategies_equally_and_singletons_are_format():
    mix = parse_mix("all")
    rng = random.Random(1)
    c = Counter(compose(mix, ITEMS[:3], rng, VOCAB).strategy for _ in range(3000))
    assert set(c) == {"format", "permute", "maskout"} and all(abs(v - 1000) < 110 for v in c.values())
    assert {compose(mix, ITEMS[:1], rng, VOCAB).strategy for _ in range(200)} == {"format"}


def test_mix_parsing():
    assert parse_mix("permute") == MIXES["permute"]
    assert parse_mix("format=1,maskout=2") == {"format": 1.0, "maskout": 2.0}
    for bad in ("nope", "format=x", "format=0"):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_heldout_vocabulary_uses_only_heldout_wordings():
    held = Vocabulary("heldout")
    train_texts = {t for p in phrasings.all_phrasings().values() for t in p.train}
    for seed in range(300):
        plan = STRATEGIES["permute"](ITEMS, random.Random(seed), held)
        for m in plan.metas:
            assert "#h" in m.phrasing
            assert not any(m.text == t for t in train_texts)


def test_registering_a_strategy_is_one_function():
    @register("test_reverse_only")
    def reverse_only(items, rng, vocab):
        from mosaic.augment.sample import MosaicPlan
        return MosaicPlan("test_reverse_only", len(items), order=list(range(len(items)))[::-1])
    try:
        plan = compose(parse_mix("test_reverse_only"), ITEMS, random.Random(0), VOCAB)
        assert response_positions(plan.render(ITEMS)[1], ITEMS) == [3, 2, 1, 0]
        with pytest.raises(ValueError, match="registered twice"):
            register("test_reverse_only")(reverse_only)
    finally:
        STRATEGIES.pop("test_reverse_only")
