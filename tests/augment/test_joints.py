"""Exact counts from the rows' counts and the joints equal counting the whole text."""
import random

import pytest

from mosaic.augment import joints
from mosaic.augment.budget import TokenCounter
from mosaic.augment.engine import RowStore
from mosaic.augment.strategies import Vocabulary, compose, parse_mix
from mosaic.data.sources import resolve_examples
from mosaic.data.templates import get_template
from tests.augment.test_lines import TRICKY

HARD = TRICKY + ["don't 're 've 'll x", "12 345,678.9 km", "a  b   c", " lead and trail ", "x", "\n\nblank\n\n",
                 "tabs\tand\u00a0nbsp\u3000wide", "(paren) [b] {c} 'q' \"d\"", "a\u200bb zero width",
                 "\u00e9t\u00e9 \u00e0 l'\u00e9cole", "word.\nNext", "\x1c\x1d sep", "end with space "]
DECOR = ["", " ", "\n", "\n\n", "1. ", "(2)\n", "[BEGIN]", " [END] ", ": ", "Item 3: ", "\t", "'", "s"]


@pytest.fixture(scope="module")
def counter(tokenizer):
    return TokenCounter(tokenizer, get_template("vicuna_v1.1"))


def test_smollm2_is_supported_and_other_kinds_are_not(counter):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    assert counter.joints and joints.supports_joints(counter._backend)
    other = Tokenizer(models.BPE())
    other.pre_tokenizer = pre_tokenizers.Whitespace()
    assert not joints.supports_joints(other)
    other.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    assert not joints.supports_joints(other)
    other.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    other.normalizer = normalizers.NFKC()
    assert not joints.supports_joints(other)


def test_joints_split_and_bound():
    assert joints.split_at_joints("a b  c d") == ["a", " b  c", " d"]
    assert joints.first_joint("ab cd ef") == 2 and joints.last_joint("ab cd ef") == 5
    assert joints.first_joint(" ab ") == -1 and joints.last_joint("a\u00e9 b") == -1
    for t in HARD + [" ".join(HARD), "a b", " a b ", "a  b"]:
        parts = joints.split_at_joints(t)
        assert "".join(parts) == t
        starts = [sum(map(len, parts[:k])) for k in range(1, len(parts))]
        assert starts == [i for i in range(len(t)) if joints.first_joint(t, i) == i]  # cut at every joint


def test_count_is_additive_at_joints(counter):
    for t in HARD:
        assert counter._count(t) == sum(counter.count_batch(joints.split_at_joints(t))), t


def test_count_joined_equals_whole_count(counter):
    rng = random.Random(0)
    for _ in range(400):
        pieces = []
        for _ in range(rng.randint(1, 8)):
            t = " ".join(rng.choices(HARD, k=rng.randint(1, 3)))
            pieces += [(rng.choice(DECOR), 0), (t, counter._count(t) if rng.random() < 0.8 else 0)]
        text = "".join(t for t, _ in pieces)
        assert joints.count_joined([pieces], counter.count_batch) == counter._count(text), text


@pytest.mark.parametrize("template", ["vicuna_v1.1", "chat_template", "raw"])
def test_exact_from_joints_equals_exact_on_bundled_plans(tmp_path, tokenizer, template):
    counter = TokenCounter(tokenizer, get_template(template))
    store = RowStore.build(resolve_examples("bundled"), counter, tmp_path)
    rng, mix, vocab = random.Random(7), parse_mix("all"), Vocabulary("train")
    try:
        for _ in range(150):
            items = [store.item(rng.randrange(len(store))) for _ in range(rng.randint(1, 10))]
            plan = compose(mix, items, rng, vocab)
            ins, out = plan.pieces(items)
            assert ("".join(t for t, _ in ins), "".join(t for t, _ in out)) == plan.render(items)
            assert counter.exact_plan(plan, items) == counter.exact(*plan.render(items))
            for m in plan.metas:  # decoration counts from the pieces between joints
                assert counter.count_one(m.text) == counter._count(m.text)
    finally:
        store.close()
    assert counter.stats.exact_from_joints == 150 and counter.stats.joint_mismatches == 0


def test_a_mismatch_falls_back_to_whole_counts_for_the_pass(tmp_path, tokenizer, monkeypatch):
    counter = TokenCounter(tokenizer, get_template("vicuna_v1.1"))
    store = RowStore.build(resolve_examples("bundled"), counter, tmp_path)
    try:
        items = [store.item(i) for i in range(4)]
        plan = compose(parse_mix("all"), items, random.Random(1), Vocabulary("train"))
        want = counter.exact(*plan.render(items))
        monkeypatch.setattr(joints, "count_joined", lambda *a: -1000)  # a tokenizer the rule would not hold for
        assert [counter.exact_plan(plan, items) for _ in range(3)] == [want] * 3
        assert counter.stats.joint_mismatches == 1 and counter.stats.exact_from_joints == 1
        counter.begin_pass()
        assert counter.exact_plan(plan, items) == want and counter.stats.joint_mismatches == 2
    finally:
        store.close()


def test_primed_decoration_counts_equal_whole_counts(tokenizer):
    from mosaic.augment.budget import DecorationBound

    counter = TokenCounter(tokenizer, get_template("vicuna_v1.1"))
    DecorationBound(counter, Vocabulary("train"))  # primes thousands of tags, markers and meta-instructions
    primed = [t for t in counter._cache if t and not t.isspace()]
    assert len(primed) > 1000
    assert counter.count_batch(primed) == [counter._cache[t] for t in primed]
