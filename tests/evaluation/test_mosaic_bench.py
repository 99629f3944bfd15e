"""The mosaic-following benchmark: deterministic items over every rule, k and vocabulary, and a checker
that passes the expected response and fails hand-made violations of each rule."""
import pytest

from evaluation.mosaic_bench import BenchItem, aggregate, build, cells, check, load_jsonl, write_jsonl
from mosaic.augment.strategies.maskout import MASK_RULES
from mosaic.augment.strategies.permute import ORDER_RULES
from mosaic.data.verifiable import generate


@pytest.fixture(scope="module")
def items():
    return build(ks=(1, 2, 3, 4), n_per_cell=2, seed=0)


def test_build_is_deterministic_and_covers_every_cell(items, tmp_path):
    write_jsonl(tmp_path / "a.jsonl", items)
    write_jsonl(tmp_path / "b.jsonl", build(ks=(1, 2, 3, 4), n_per_cell=2, seed=0))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert load_jsonl(tmp_path / "a.jsonl") == items
    assert [it.prompt for it in build(ks=(2,), n_per_cell=1, seed=1)] != \
        [it.prompt for it in build(ks=(2,), n_per_cell=1, seed=0)]
    seen = {(it.strategy, it.rule, it.k, it.vocabulary) for it in items}
    for vocab in ("train", "heldout"):
        assert {(s, r, k, vocab) for s, r, k in cells((1, 2, 3, 4))} == {c for c in seen if c[3] == vocab}
    assert {r for s, r, _, _ in seen if s == "permute"} == set(ORDER_RULES)
    assert {r for s, r, _, _ in seen if s == "maskout"} == set(MASK_RULES)
    assert not any(s != "format" for s, _, k, _ in seen if k == 1)
    assert len(items) == 2 * 2 * (1 + 3 * 16)


def test_tasks_are_held_out_and_distinct(items):
    from mosaic.data.verifiable import VerifiableTask

    for it in items:
        assert len({t["id"] for t in it.tasks}) == it.k
        assert all(t["id"].startswith("vt-") for t in it.tasks)
    assert all(isinstance(it.task(0), VerifiableTask) for it in items)
    train_ids = {t.id for t in generate("train", 3000)}
    assert not train_ids & {t["id"] for it in items for t in it.tasks}


def test_expected_response_passes_every_cell(items):
    for it in items:
        r = check(it, it.reference)
        assert r.structure_ok and r.content_ok, (it.id, r.reason, it.reference)


def test_heldout_vocabulary_uses_unseen_styles(items):
    from mosaic.augment import styles

    heldout = [it for it in items if it.vocabulary == "heldout"]
    train_tags = {s.replace("{i}", "1") for s in styles.NUMBER_STYLES.train}
    assert any(it.tags[0] and it.tags[0].rstrip(".:") not in train_tags for it in heldout)


def numbered(items, strategy, rule, k=None):
    return next(it for it in items if it.strategy == strategy and it.rule == rule and any(it.tags)
                and not it.begin and (k is None or it.k == k))


def item(**overrides) -> BenchItem:
    """A hand-made 3-task item: tags "(1)".."(3)", no markers."""
    tasks = [dict(id=f"vt-t{i}", family="arith_add", instruction=f"Add {i} and {i}.", input="", answer=str(2 * i))
             for i in (1, 2, 3)]
    base = dict(id="x", prompt="...", strategy="permute", rule="reverse", k=3, vocabulary="train", tasks=tasks,
                order=[2, 1, 0], masked=[], tags=["(1)", "(2)", "(3)"], begin="", end="", reference="")
    return BenchItem(**{**base, **overrides})


def test_permute_rules_hand_written():
    it = item()
    assert check(it, "(3) 6\n\n(2) 4\n\n(1) 2").structure_ok
    swapped = check(it, "(1) 2\n\n(2) 4\n\n(3) 6")
    assert swapped.count_ok and not swapped.order_ok and swapped.content_ok  # right answers, wrong order
    wrong = check(it, "(3) 6\n\n(2) 5\n\n(1) 2")
    assert wrong.structure_ok and not wrong.content_ok and wrong.content_correct == 2
    assert not check(it, "(3) 6\n\n(2) 4").count_ok  # one response missing
    assert not check(it, "3. 6\n\n2. 4\n\n1. 2").structure_ok  # another tag style than requested
    assert not check(it, "").structure_ok


def test_maskout_rules_hand_written():
    it = item(strategy="maskout", rule="odd", order=[1], masked=[0, 2])
    assert check(it, "(2) 4").structure_ok
    leaked = check(it, "(1) 2\n\n(2) 4")
    assert not leaked.mask_ok and not leaked.structure_ok
    extra = check(it, "(2) 4\n\n(3) 6")
    assert not extra.mask_ok and not extra.count_ok


def test_unnumbered_responses_are_checked_by_position_and_content():
    it = item(strategy="maskout", rule="longest", order=[0, 2], masked=[1], tags=["", "", ""])
    assert check(it, "2\n\n6").structure_ok and check(it, "2\n\n6").content_ok
    assert not check(it, "2\n\n4\n\n6").structure_ok  # answered the masked task
    masked_instead = check(it, "2\n\n4")
    assert not masked_instead.mask_ok and masked_instead.content_correct == 1


def test_markers_hand_written():
    it = item(strategy="format", rule="format", order=[0, 1, 2], begin="<<OPEN>>", end="<<CLOSE>>")
    good = "(1) <<OPEN>>2<<CLOSE>>\n\n(2) <<OPEN>>4<<CLOSE>>\n\n(3) <<OPEN>>6<<CLOSE>>"
    assert check(it, good).structure_ok and check(it, good).content_ok
    no_markers = check(it, "(1) 2\n\n(2) 4\n\n(3) 6")
    assert not no_markers.count_ok
    untagged = check(it, "<<OPEN>>2<<CLOSE>>\n\n(2) <<OPEN>>4<<CLOSE>>\n\n(3) <<OPEN>>6<<CLOSE>>")
    assert untagged.count_ok and not untagged.tags_ok


def respond(it: BenchItem, order) -> str:
    """A response in the item's decoration, answering tasks ``order`` correctly."""
    return "\n\n".join(f"{it.tags[i] + ' ' if it.tags[i] else ''}{it.begin}{it.tasks[i]['answer']}{it.end}"
                       for i in order)


@pytest.mark.parametrize("rule", sorted(ORDER_RULES))
def test_every_permute_rule_fails_when_the_order_is_reversed(items, rule):
    candidates = [it for it in items if it.strategy == "permute" and it.rule == rule and any(it.tags)
                  and it.order != it.order[::-1]]
    for it in candidates:
        assert check(it, respond(it, it.order)).structure_ok
        r = check(it, respond(it, it.order[::-1]))
        assert r.count_ok and not r.order_ok and not r.structure_ok


@pytest.mark.parametrize("rule", MASK_RULES)
def test_every_maskout_rule_fails_when_a_masked_answer_is_included(items, rule):
    candidates = [x for x in items if x.strategy == "maskout" and x.rule == rule]
    assert candidates
    for it in candidates:
        assert check(it, respond(it, it.order)).structure_ok
        r = check(it, respond(it, sorted(it.order + it.masked)))
        assert not r.mask_ok and not r.structure_ok


def test_aggregate_counts():
    it = item()
    results = [check(it, "(3) 6\n\n(2) 4\n\n(1) 2"), check(it, "(1) 2\n\n(2) 4\n\n(3) 6")]
    rows = aggregate([it, it], results)
    total = next(r for r in rows if (r["strategy"], r["rule"], r["k"], r["vocabulary"]) == ("*", "*", "*", "*"))
    assert total["n"] == 2 and total["structure_acc"] == 0.5 and total["content_acc"] == 1.0
    assert total["both_acc"] == 0.5 and total["subanswer_acc"] == 1.0
