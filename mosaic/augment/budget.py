"""Token budget: a sample's length in the training format, from counts made once per row.

Every row's prompt and output are tokenized once, in batches. A candidate sample's length is
estimated as the sum of those counts, the counts of its decoration strings (tags, markers,
meta-instructions; cached; whitespace separators counted in context, since BPE tokenizes
"\\n\\n" alone as one token but between words as two), and the prompt template's overhead.
Where the estimate comes within ``exact_margin`` tokens below the budget, the sample is rendered
and counted exactly with the real tokenizer, so an accepted sample never exceeds the budget as
long as the estimate undercounts by less than the margin; the largest error seen is recorded in the summary
(``budget_checks.max_underestimate``) and tested on the bundled data. For tokenizers of the kind
``joints.py`` describes (byte-level BPE splitting with the GPT-2 pattern, like SmolLM2's), that exact
count is made from the rows' counts, re-tokenizing only the stretches around the rows' ends (the
same number, proven there and tested; the first ones of each pass are also checked against the
whole text), and decoration strings are counted from cached pieces between their joints.

:class:`DecorationBound` gives, for ``j`` rows, the most decoration tokens any plan can add; a
prefix whose content plus that bound fits is accepted without drawing a plan at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..data.templates import PromptTemplate
from . import joints, styles
from .counts import HARD_MAX_ITEMS
from .sample import RESPONSE_JOINER, Item, MosaicPlan


@dataclass
class BudgetStats:
    estimated: int = 0  # plans judged by the estimate alone
    exact: int = 0  # plans counted exactly because they came near the budget
    max_underestimate: int = 0  # max(exact - estimate) over exact counts: must stay below exact_margin
    bound_fallbacks: int = 0  # plans the decoration bound said must fit but did not (expected: 0)
    exact_from_joints: int = 0  # exact counts made from the rows' counts, re-tokenizing around the joints only
    joint_mismatches: int = 0  # joint counts that differed from counting the whole text (expected: 0)

    def merge(self, other: "BudgetStats") -> None:
        self.estimated += other.estimated
        self.exact += other.exact
        self.bound_fallbacks += other.bound_fallbacks
        self.exact_from_joints += other.exact_from_joints
        self.joint_mismatches += other.joint_mismatches
        self.max_underestimate = max(self.max_underestimate, other.max_underestimate)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


JOINT_CHECKS_PER_PASS = 2  # the first joint counts of each pass are checked against counting the whole text
_MARK = "\x00\x01mosaic\x01\x00"


@dataclass
class TokenCounter:
    tokenizer: object
    template: PromptTemplate
    exact_margin: int = 8
    stats: BudgetStats = field(default_factory=BudgetStats)

    def __post_init__(self):
        self._backend = self.tokenizer.backend_tokenizer
        self._encode = getattr(self._backend, "encode_batch_fast", self._backend.encode_batch)
        self._cache: dict[str, int] = {"": 0}
        self._tags: dict[tuple, list[int]] = {}
        x, y = "x", "y"
        self.overhead = max(0, self.template.count(self.tokenizer, x, y) - self._count(x) - self._count(y))
        with_specials = len(self._backend.encode(x, add_special_tokens=True).ids)
        self.prompt_specials = (with_specials - self._count(x)) if self.template.prompt_special_tokens else 0
        self.joints = joints.supports_joints(self._backend) and joints.probe(self._count, self.count_batch)
        self._affixes = self._template_affixes() if self.joints else None
        self.begin_pass()

    def _template_affixes(self) -> tuple[str, str, str, str] | None:
        """(prompt before, prompt after, response before, response after) the instruction and output."""
        prompt, response = self.template.render(self.tokenizer, _MARK + "I", _MARK + "O")
        if prompt.count(_MARK + "I") != 1 or response.count(_MARK + "O") != 1:
            return None
        return (*prompt.split(_MARK + "I"), *response.split(_MARK + "O"))

    def begin_pass(self) -> None:
        """Per-pass state (the joint checks), so that a pass counts the same wherever it is built."""
        self._joint_checks, self._pass_joints = JOINT_CHECKS_PER_PASS, self._affixes is not None

    def _count(self, text: str) -> int:
        return len(self._backend.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(e) for e in self._encode(list(texts), add_special_tokens=False)]

    def prime(self, texts) -> None:
        """Count many decoration strings in one batch call (cheaper than one call each)."""
        todo = sorted({t for t in texts if t not in self._cache and not t.isspace()})
        if self.joints:  # count the pieces between joints (they recur), and each text as their sum
            split = {t: joints.split_at_joints(t) for t in todo}
            new = list({piece: None for pieces in split.values() for piece in pieces if piece not in self._cache})
            for piece, n in zip(new, self.count_batch(new) if new else []):
                self._cache[piece] = n
            for t, pieces in split.items():
                self._cache[t] = sum([self._cache[piece] for piece in pieces])
            return
        for t, n in zip(todo, self.count_batch(todo) if todo else []):
            self._cache[t] = n

    def count_one(self, text: str) -> int:
        """Tokens of a decoration string; whitespace is counted between two words, where it sits."""
        n = self._cache.get(text)
        if n is None:
            if text.isspace():
                n = self._count(f"x{text}x") - 2
            elif self.joints:  # the sum over its pieces between joints, which recur (e.g. " 3," in "[3, 1, 2]")
                parts, cache = joints.split_at_joints(text), self._cache
                todo = [t for t in parts if t not in cache]
                if todo:
                    self.prime(todo)
                n = sum([cache[t] if t in cache else self._count(t) for t in parts])
            else:
                n = self._count(text)
            if len(self._cache) < 200_000:
                self._cache[text] = n
        return n

    def _tag_counts(self, plan: MosaicPlan) -> list[int]:
        """Tokens of ``plan.tag(i)`` for i < plan.count, cached per numbering style."""
        key = (plan.number_style, plan.number_punct, plan.tag_newline)
        counts = self._tags.setdefault(key, [])
        while len(counts) < plan.count:
            counts.append(self.count_one(plan.tag(len(counts))))
        return counts

    def estimate(self, plan: MosaicPlan, items: Sequence[Item]) -> int:
        """Sum of the counts of ``plan.instruction_pieces`` and ``plan.output_pieces`` plus the rows' counts,
        computed without building those lists (the same sum, term by term)."""
        count, order, k = self.count_one, plan.order, plan.count
        n = self.overhead + sum(items[i].n_prompt for i in range(k)) + sum(items[i].n_output for i in order)
        if plan.number_style is not None:
            tags = self._tag_counts(plan)
            n += sum(tags[:k]) + sum(tags[i] for i in order)
        n += (k - 1) * count(plan.joiner) + sum(count(m.text) + count(m.sep) for m in plan.metas)
        if order:
            n += len(order) * (count(plan.begin) + count(plan.end)) + (len(order) - 1) * count(RESPONSE_JOINER)
        return n

    def estimate_by_pieces(self, plan: MosaicPlan, items: Sequence[Item]) -> int:
        """The reference form of :meth:`estimate` (tested equal)."""
        n = self.overhead + sum(items[i].n_prompt for i in range(plan.count))
        n += sum(items[i].n_output for i in plan.order)
        count = self.count_one
        return n + sum(map(count, plan.instruction_pieces(items))) + sum(map(count, plan.output_pieces()))

    def exact(self, instruction: str, output: str) -> int:
        """Same count as ``template.count`` (tested), without the Python tokenizer wrapper's overhead."""
        prompt, response = self.template.render(self.tokenizer, instruction, output)
        return self.prompt_specials + sum(self.count_batch([prompt, response]))

    def _decoration(self, text: str) -> tuple[str, int]:
        """A decoration as a joint piece: a long one with its (cached) count, so that only its ends are
        tokenized again (whitespace is counted in context by count_one, so it goes without a count)."""
        return (text, self.count_one(text)) if len(text) > 16 and not text.isspace() else (text, 0)

    def exact_plan(self, plan: MosaicPlan, items: Sequence[Item]) -> int:
        """:meth:`exact` of the rendered plan; from the rows' counts and the joints where the tokenizer allows."""
        instruction, output = plan.render(items)
        if not self._pass_joints:
            return self.exact(instruction, output)
        p0, p1, r0, r1 = self._affixes
        prompt, response = self.template.render(self.tokenizer, instruction, output)
        if prompt != p0 + instruction + p1 or response != r0 + output + r1:
            return self.exact(instruction, output)
        d = self._decoration
        ins, out = plan.pieces(items, d)
        n = self.prompt_specials + joints.count_joined([[d(p0), *ins, d(p1)], [d(r0), *out, d(r1)]],
                                                       self.count_batch, self._cache)
        self.stats.exact_from_joints += 1
        if self._joint_checks > 0:
            self._joint_checks -= 1
            whole = self.exact(instruction, output)
            if whole != n:  # the tokenizer is not of the kind assumed: whole texts for the rest of the pass
                self.stats.joint_mismatches += 1
                self._pass_joints, n = False, whole
        return n

    def fits(self, plan: MosaicPlan, items: Sequence[Item], budget: int) -> tuple[bool, int]:
        """Whether the rendered sample fits ``budget`` tokens, and an upper bound of its length.

        Counted exactly only when the estimate lies within ``exact_margin`` below the budget. An
        estimate above the budget rejects the prefix without an exact count: estimates overcount
        by a few tokens (a tag's trailing space merges with the next word), so a sample may stop
        a few tokens short of what would fit, but never goes over.
        """
        est = self.estimate(plan, items)
        if est > budget or est <= budget - self.exact_margin:
            self.stats.estimated += 1
            return est <= budget, est + self.exact_margin
        n = self.exact_plan(plan, items)
        self.stats.exact += 1
        self.stats.max_underestimate = max(self.stats.max_underestimate, n - est)
        return n <= budget, n


class DecorationBound:
    """Most tokens any plan can add to ``j`` rows' content (tags, markers, separators, meta-instructions)."""

    def __init__(self, counter: TokenCounter, vocab):
        from .phrasings import all_phrasings

        c = counter.count_one
        tag_forms = [s + p + nl for s in vocab.number_styles for p in styles.NUMBER_PUNCT for nl in (" ", "\n")]
        markers = [(s.replace("{text}", b), s.replace("{text}", e)) for s in vocab.marker_shapes
                   for b0, e0 in vocab.marker_words for b, e in ((b0, e0), (b0.lower(), e0.lower()))]
        phr = all_phrasings()
        counter.prime([t.replace("{i}", str(i)) for t in tag_forms for i in range(1, HARD_MAX_ITEMS + 2)]
                      + [m for pair in markers for m in pair]
                      + [t.format(begin=b, end=e) for t in vocab.pick(phr["format/tagged"]) for b, e in markers])
        tag_max = [max(c(t.replace("{i}", str(i))) for t in tag_forms) for i in range(1, HARD_MAX_ITEMS + 2)]
        self._tags = [0]
        for t in tag_max:
            self._tags.append(self._tags[-1] + t)
        self._marker = max(c(b) + c(e) for b, e in markers)
        bare = {k: max(c(t.replace("{begin}", "").replace("{end}", "").replace("{order}", "")
                       .replace("{masked}", "").replace("{k}", "").replace("{noun}", "instructions"))
                       for t in vocab.pick(p)) for k, p in phr.items()}
        self._format_meta = max(bare["format/tagged"] + 2 * self._marker, bare["format/plain"])
        self._rule_meta = max(v for k, v in bare.items() if not k.startswith("format/"))
        item = max(c(s.replace("{i}", "50")) for s in styles.LIST_ITEM_STYLES)
        self._list_item = item + max(c(s) for s in styles.LIST_SEPARATORS)
        self._sep = max(c("\n"), c("\n\n"))
        self.overhead = counter.overhead

    def __call__(self, j: int) -> int:
        """Upper bound for ``j`` rows; one extra token per joint covers BPE merges across pieces."""
        joints = 6 * j + 6
        metas = self._format_meta + self._rule_meta + self._list_item * j + 2 + 2 * self._sep + 4
        return (self.overhead + 2 * self._tags[j] + j * self._marker + 2 * (j - 1) * self._sep
                + metas + joints)
