"""Mosaic-following benchmark: can a model answer k instructions at once in the format, order and
selection a meta-instruction asks for?

Items are held-out verifiable tasks (``mosaic.data.verifiable``, split ``heldout``) composed into one
prompt by the real augmentation strategies (``mosaic.augment.strategies``): ``format`` (number tags,
begin/end markers), ``permute`` under each of its 10 order rules, ``maskout`` under each of its 5 mask
rules, for k = 1..6 (permute and maskout need k >= 2). Each cell is built with the ``train`` vocabulary
(phrasings and tag styles seen in training) and the ``heldout`` one (never seen), which separates
learning the skill from memorising templates. A strategy draws its rule at random; a cell's rule is
obtained by redrawing with the next seed until it comes up, so the plans are exactly what training
produces. The expected response is the plan rendered with the true answers.

The checker is deterministic. Structure: the response splits, by the requested decoration (number
tags at line starts, begin/end markers, or blank lines when there is neither), into exactly as many
responses as expected; with number tags, their sequence must be the requested order and must not
contain a masked instruction. Without tags, order and masking are visible only through content, so
each response is checked against the task expected at its position, and a response that answers a
masked task fails ``mask_ok``. Content: each expected sub-answer, by ``verifiable.check``.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from mosaic.augment.sample import Item
from mosaic.augment.strategies import STRATEGIES, Vocabulary
from mosaic.augment.strategies.maskout import MASK_RULES
from mosaic.augment.strategies.permute import ORDER_RULES
from mosaic.data.io import atomic_open
from mosaic.data.records import Example
from mosaic.data.verifiable import VerifiableTask, check as check_task, generate

VERSION = 1
MAX_REDRAWS = 500


@dataclass(frozen=True)
class BenchItem:
    id: str
    prompt: str
    strategy: str
    rule: str
    k: int
    vocabulary: str
    tasks: list[dict]  # VerifiableTask fields, in instruction order
    order: list[int]  # 0-based task indices in the requested response order
    masked: list[int]
    tags: list[str]  # the number tag of each instruction ("" when unnumbered)
    begin: str
    end: str
    reference: str  # the expected response

    def task(self, i: int) -> VerifiableTask:
        return VerifiableTask(**self.tasks[i])


@dataclass
class CheckResult:
    count_ok: bool
    tags_ok: bool
    order_ok: bool
    mask_ok: bool
    content_correct: int
    content_total: int
    reason: str = ""
    structure_ok: bool = field(init=False)
    content_ok: bool = field(init=False)

    def __post_init__(self):
        self.structure_ok = self.count_ok and self.tags_ok and self.order_ok and self.mask_ok
        self.content_ok = self.content_total > 0 and self.content_correct == self.content_total


def cells(ks: Sequence[int]) -> list[tuple[str, str, int]]:
    """(strategy, rule, k); permute and maskout need at least two instructions."""
    out = []
    for k in ks:
        out.append(("format", "format", k))
        if k >= 2:
            out += [("permute", r, k) for r in ORDER_RULES] + [("maskout", r, k) for r in MASK_RULES]
    return out


def _plan(strategy: str, rule: str, items: list[Item], vocab: Vocabulary, key: str):
    for attempt in range(MAX_REDRAWS):
        plan = STRATEGIES[strategy](items, random.Random(f"{key}:{attempt}"), vocab)
        if strategy == "format" or plan.rule == rule:
            return plan
    raise RuntimeError(f"rule {rule!r} of {strategy!r} not drawn in {MAX_REDRAWS} tries")


def build(*, ks: Sequence[int] = (1, 2, 3, 4, 5, 6), n_per_cell: int = 2, seed: int = 0,
          vocabularies: Sequence[str] = ("train", "heldout")) -> list[BenchItem]:
    if any(k < 1 or k > 10 for k in ks):
        raise ValueError(f"ks must lie in 1..10, got {list(ks)}")
    pool = generate("heldout", 600, seed=seed)
    items: list[BenchItem] = []
    for vocab_name in vocabularies:
        vocab = Vocabulary(vocab_name)
        for strategy, rule, k in cells(ks):
            for j in range(n_per_cell):
                key = f"mosaic-bench:v{VERSION}:{seed}:{vocab_name}:{strategy}:{rule}:{k}:{j}"
                rng = random.Random(key)
                tasks: list[VerifiableTask] = []
                for t in rng.sample(pool, len(pool)):
                    if len(tasks) == k:
                        break
                    prompt = Example(t.id, t.instruction, t.answer, t.input).prompt
                    if all(prompt != Example(u.id, u.instruction, u.answer, u.input).prompt for u in tasks):
                        tasks.append(t)
                mosaic_items = [Item(t.id, Example(t.id, t.instruction, t.answer, t.input).prompt, t.answer)
                                for t in tasks]
                plan = _plan(strategy, rule, mosaic_items, vocab, key)
                instruction, reference = plan.render(mosaic_items)
                items.append(BenchItem(
                    id=f"{vocab_name}-{strategy}-{rule}-k{k}-{j}", prompt=instruction, strategy=strategy, rule=rule,
                    k=k, vocabulary=vocab_name, tasks=[asdict(t) for t in tasks], order=list(plan.order),
                    masked=list(plan.masked), tags=[t.strip() for t in plan.tags()], begin=plan.begin, end=plan.end,
                    reference=reference))
    return items


def _segments(item: BenchItem, response: str) -> tuple[list[tuple[int | None, str]], bool]:
    """(tag index or None, text) per response found, and whether every block carried its number tag."""
    numbered = any(item.tags)
    if item.begin:
        pattern = re.compile(re.escape(item.begin) + r"(.*?)" + re.escape(item.end), re.S)
        found, last, all_tagged = [], 0, True
        for m in pattern.finditer(response):
            before = response[last:m.start()]
            index = None
            if numbered:
                hits = [(before.rfind(t), i) for i, t in enumerate(item.tags) if t and _tag_re(t).search(before)]
                index = max(hits)[1] if hits else None
                all_tagged &= index is not None
            found.append((index, m.group(1)))
            last = m.end()
        return found, all_tagged
    if numbered:
        hits = sorted((m.start(), m.end(), i) for i, t in enumerate(item.tags) for m in _tag_re(t).finditer(response))
        found = [(i, response[end:hits[n + 1][0] if n + 1 < len(hits) else len(response)])
                 for n, (_, end, i) in enumerate(hits)]
        return found, True
    return [(None, s) for s in re.split(r"\n\s*\n", response) if s.strip()], True


def _tag_re(tag: str) -> re.Pattern:
    return re.compile(r"(?m)^[ \t]*" + re.escape(tag) + r"(?=\s|$)")


def check(item: BenchItem, response: str) -> CheckResult:
    expected = len(item.order)
    found, all_tagged = _segments(item, response)
    count_ok = len(found) == expected
    numbered = any(item.tags)
    if numbered:
        indices = [i for i, _ in found]
        order_ok = indices == item.order
        mask_ok = not set(i for i in indices if i is not None) & set(item.masked)
        by_index = {i: text for i, text in reversed(found) if i is not None}
        answers = [by_index.get(i) for i in item.order]
    else:
        order_ok = count_ok
        answers = [found[j][1] if j < len(found) else None for j in range(expected)]
        mask_ok = not any(check_task(item.task(m), text) for m in item.masked for _, text in found)
    tags_ok = count_ok and all_tagged
    correct = sum(1 for i, a in zip(item.order, answers) if a is not None and check_task(item.task(i), a.strip()))
    reason = "" if count_ok and tags_ok and order_ok and mask_ok else (
        f"expected {expected} responses, found {len(found)}" if not count_ok else
        "a response lacks its number tag" if not tags_ok else
        f"order {[i for i, _ in found]} instead of {item.order}" if not order_ok else
        f"answered masked instruction(s) {item.masked}")
    return CheckResult(count_ok, tags_ok, order_ok, mask_ok, correct, expected, reason)


def aggregate(items: Sequence[BenchItem], results: Sequence[CheckResult]) -> list[dict]:
    """Rows per (strategy, rule, k, vocabulary), then totals per strategy, per k and per vocabulary."""
    groups: dict[tuple, list[CheckResult]] = {}
    for it, r in zip(items, results):
        for key in ((it.strategy, it.rule, it.k, it.vocabulary), (it.strategy, "*", "*", "*"),
                    ("*", "*", it.k, "*"), ("*", "*", "*", it.vocabulary), ("*", "*", "*", "*")):
            groups.setdefault(key, []).append(r)
    rows = []
    for (strategy, rule, k, vocab), rs in groups.items():
        n = len(rs)
        rows.append({"strategy": strategy, "rule": rule, "k": k, "vocabulary": vocab, "n": n,
                     "structure_acc": sum(r.structure_ok for r in rs) / n,
                     "content_acc": sum(r.content_ok for r in rs) / n,
                     "both_acc": sum(r.structure_ok and r.content_ok for r in rs) / n,
                     "subanswer_acc": sum(r.content_correct for r in rs) / max(1, sum(r.content_total for r in rs))})
    return rows


def write_jsonl(path: str | Path, items: Sequence[BenchItem]) -> None:
    with atomic_open(path) as fh:
        for it in items:
            fh.write(json.dumps(asdict(it), ensure_ascii=False, sort_keys=True) + "\n")


def load_jsonl(path: str | Path) -> list[BenchItem]:
    return [BenchItem(**json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines()]
