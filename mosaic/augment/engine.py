"""The Mosaic-IT pass loop (released ``mosaic_main.py``), made streaming, seeded and budget-exact.

For each pass: shuffle all rows; walk them with a pointer; draw a count from ``wrap_mode``; grow
the sample one instruction at a time, drawing fresh strategy choices for every prefix (as the
released code does), while the sample fits the token budget; keep the last prefix that fit and
advance by the number of rows it used. A row that cannot fit alone is reported, never dropped
silently. Pass ``e`` depends only on (seed, e), so a trainer can build pass ``e`` on demand
(online mode) and get exactly the samples the offline file holds for that pass.

Large inputs live on disk (:class:`RowStore`); memory holds offsets and token counts only.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import shutil
import tempfile
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..data.records import Example
from ..data.templates import get_template
from .budget import DecorationBound, TokenCounter
from .counts import HARD_MAX_ITEMS, WRAP_MODES, draw_count
from .lines import Escaper, escape_utf8, sample_line
from .sample import Item, MosaicPlan
from .strategies import Vocabulary, mixer, parse_mix

TRANSFORM_VERSION = "mosaic-it/1"  # bump when the output for a given config would change


@dataclass(frozen=True)
class AugmentConfig:
    strategy: str = "all"
    wrap_mode: str = "uniform"
    max_count: int = 10
    max_tokens: int = 2000
    passes: int = 4
    seed: int = 0
    template: str = "vicuna_v1.1"
    vocabulary: str = "train"
    exact_margin: int = 8

    def __post_init__(self):
        parse_mix(self.strategy)
        get_template(self.template)
        Vocabulary(self.vocabulary)
        if self.wrap_mode not in WRAP_MODES:
            raise ValueError(f"unknown wrap_mode {self.wrap_mode!r}; known: {sorted(WRAP_MODES)}")
        if self.exact_margin < 0:
            raise ValueError(f"exact_margin must be >= 0, got {self.exact_margin}")
        for name in ("max_count", "max_tokens", "passes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    def fingerprint(self, tokenizer_id: str = "") -> str:
        blob = json.dumps({"version": TRANSFORM_VERSION, "tokenizer": tokenizer_id, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


IN_MEMORY_BYTES = 128 << 20  # rows beyond this much text go to disk


class RowStore:
    """Rows with their token counts, by index. Counts live in arrays; rows live in memory while
    they are small and in a JSONL file read with ``pread`` once they are not, so memory stays flat
    in the number of rows (an mmap would count every page touched by the random access as RSS)."""

    def __init__(self, n_prompt: array, n_output: array, items: list[Item] | None,
                 path: Path | None = None, offsets: array | None = None):
        self.n_prompt, self.n_output, self._items = n_prompt, n_output, items
        self.path, self.offsets = path, offsets
        self._fd = os.open(path, os.O_RDONLY) if items is None else None

    @classmethod
    def build(cls, examples: Iterable[Example], counter: TokenCounter, directory: Path,
              batch_size: int = 2048, on_rows: Callable[[int], None] | None = None,
              in_memory_bytes: int | None = None) -> "RowStore":
        path = Path(directory) / "rows.jsonl"
        in_memory_bytes = IN_MEMORY_BYTES if in_memory_bytes is None else in_memory_bytes
        n_prompt, n_output = array("i"), array("i")
        items: list[Item] | None = []
        offsets: array | None = None
        size = 0
        fh = None

        def write(it: Item) -> None:
            line = json.dumps([it.id, it.prompt, it.output_text, it.source], ensure_ascii=False).encode() + b"\n"
            fh.write(line)
            offsets.append(offsets[-1] + len(line))

        def count(batch: list[Example]) -> list[int]:  # prompts then outputs, in one call
            return counter.count_batch([e.prompt for e in batch] + [e.output for e in batch])

        def flush(batch: list[Example], counts: list[int]) -> None:
            nonlocal items, size, fh, offsets
            counts_p, counts_o = counts[:len(batch)], counts[len(batch):]
            n_prompt.extend(counts_p)
            n_output.extend(counts_o)
            for e, cp, co in zip(batch, counts_p, counts_o):
                if items is None:
                    write(Item(e.id, e.prompt, e.output, cp, co, e.source))
                    continue
                # Escaped once, not in every pass; the output is kept only escaped (it is read rarely).
                prompt = e.prompt
                pj, oj = escape_utf8(prompt), escape_utf8(e.output)
                items.append(Item(e.id, prompt, "", cp, co, e.source, pj, oj, len(prompt.split())))
                size += len(prompt) + len(pj) + len(oj)
                if size > in_memory_bytes:  # spill everything so far to disk, continue there
                    fh, offsets = open(path, "wb"), array("q", [0])
                    for old in items:
                        write(old)
                    items = None
            if on_rows:
                on_rows(len(batch))

        # The tokenizer releases the GIL: batch k is counted in a thread while batch k-1 is stored and k+1 read.
        batch: list[Example] = []
        pending = None  # (batch, future of its counts)
        try:
            with ThreadPoolExecutor(1) as pool:
                for ex in itertools.chain(examples, [None]):
                    if ex is not None:
                        batch.append(ex)
                        if len(batch) < batch_size:
                            continue
                    # Queued before the previous batch is flushed, so the tokenizer never waits for a flush.
                    submitted = (batch, pool.submit(count, batch)) if batch else None
                    batch = []
                    if pending is not None:
                        flush(pending[0], pending[1].result())
                    pending = submitted
                if pending is not None:
                    flush(pending[0], pending[1].result())
        finally:
            if fh is not None:
                fh.close()
        return cls(n_prompt, n_output, items, path, offsets)

    def __len__(self) -> int:
        return len(self.n_prompt)

    def item(self, i: int) -> Item:
        if self._items is not None:
            return self._items[i]
        start = self.offsets[i]
        rid, prompt, output, source = json.loads(os.pread(self._fd, self.offsets[i + 1] - start, start))
        return Item(rid, prompt, output, self.n_prompt[i], self.n_output[i], source)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class OverBudget:
    pass_index: int
    id: str
    tokens: int


@dataclass
class MosaicBuilder:
    store: RowStore
    counter: TokenCounter
    config: AugmentConfig
    over_budget: list[OverBudget] = field(default_factory=list)

    def __post_init__(self):
        self.mix = parse_mix(self.config.strategy)
        self._compose = mixer(self.mix)
        self.vocab = Vocabulary(self.config.vocabulary)
        self.bound = DecorationBound(self.counter, self.vocab)
        self._bounds = [self.bound(j) for j in range(HARD_MAX_ITEMS + 2)]  # by row count, looked up per prefix

    def _surely_fitting(self, rows: list[int], limit: int) -> int:
        """How many leading rows fit the budget whatever plan is drawn for them (no plan needed)."""
        budget, n_prompt, n_output = self.config.max_tokens, self.store.n_prompt, self.store.n_output
        bounds = self._bounds if limit < len(self._bounds) else [self.bound(j) for j in range(limit + 1)]
        content = 0
        for j in range(1, limit + 1):
            r = rows[j - 1]
            content += n_prompt[r] + n_output[r]
            if content + bounds[j] > budget:
                return j - 1
        return limit

    def iter_pass(self, e: int, on_rows: Callable[[int], None] | None = None) -> Iterator[dict]:
        """The samples of pass ``e`` as dicts (see :meth:`iter_accepted`)."""
        for k, plan, used, ntok in self.iter_accepted(e, on_rows):
            yield self.sample(e, k, plan, used, ntok)

    def sample(self, e: int, k: int, plan: MosaicPlan, used: list[Item], ntok: int) -> dict:
        instruction, output = plan.render(used)
        return {"id": self.sample_id(e, k), "instruction": instruction, "input": "", "output": output,
                "count": plan.count, "n_tokens": ntok, "source": "mosaic", "provenance": self.provenance(e, plan, used)}

    def sample_id(self, e: int, k: int) -> str:
        return f"mosaic-s{self.config.seed}-p{e}-{k:07d}"

    def provenance(self, e: int, plan: MosaicPlan, used: list[Item]) -> dict:
        return {"pass": e, "seed": self.config.seed, **plan.provenance(used)}

    def iter_lines(self, e: int, on_rows: Callable[[int], None] | None = None) -> Iterator[tuple[bytes, int, int, dict]]:
        """The samples of pass ``e`` as (JSON line, count, n_tokens, provenance): the line is the UTF-8 of
        ``json.dumps(sample, ensure_ascii=False)`` of the :meth:`iter_pass` sample, built from escaped pieces."""
        dec = Escaper()
        for k, plan, used, ntok in self.iter_accepted(e, on_rows):
            prov = self.provenance(e, plan, used)
            yield sample_line(self.sample_id(e, k), plan, used, ntok, prov, dec), plan.count, ntok, prov

    def iter_accepted(self, e: int, on_rows: Callable[[int], None] | None = None
                      ) -> Iterator[tuple[int, MosaicPlan, list[Item], int]]:
        """The accepted plans of pass ``e`` as (index k, plan, rows used, n_tokens), deterministic in (rows, config, e).

        The released loop draws a plan for every prefix and keeps the last one that fits. A prefix
        that fits whatever is drawn needs no draw: its plan would be discarded unless it is the
        last, and then it is drawn afterwards from the same distribution. So plans are drawn only
        for prefixes near the budget, and for the kept prefix.
        """
        cfg, store, n = self.config, self.store, len(self.store)
        item = store.item if store._items is None else store._items.__getitem__
        budget = cfg.max_tokens
        rng = random.Random(f"mosaic-it:{cfg.seed}:{e}")
        self.counter.begin_pass()
        order = list(range(n))
        rng.shuffle(order)
        i = k = 0
        while i < n:
            limit = min(draw_count(cfg.wrap_mode, rng, cfg.max_count), n - i)
            rows = order[i:i + limit]
            sure = self._surely_fitting(rows, limit)
            items = [item(r) for r in rows[:max(sure, 1)]]
            best = None
            j = sure
            while j < limit:  # the released prefix loop, from the first prefix that might not fit
                if len(items) <= j:
                    items.append(item(rows[j]))
                plan = self._compose(items[:j + 1], rng, self.vocab)
                ok, ntok = self.counter.fits(plan, items[:j + 1], budget)
                if not ok:
                    break
                best, j = (plan, ntok), j + 1
            while best is None and j > 0:  # draw the kept prefix's plan (guaranteed to fit by the bound)
                plan = self._compose(items[:j], rng, self.vocab)
                ok, ntok = self.counter.fits(plan, items[:j], budget)
                if ok:
                    best = (plan, ntok)
                else:
                    self.counter.stats.bound_fallbacks += 1
                    j -= 1
            if best is None:
                self.over_budget.append(OverBudget(e, items[0].id, ntok))
                i += 1
                if on_rows:
                    on_rows(1)
                continue
            plan, ntok = best
            yield k, plan, items[:plan.count], ntok
            k += 1
            i += plan.count
            if on_rows:
                on_rows(plan.count)

    def iter_passes(self, on_rows: Callable[[int], None] | None = None) -> Iterator[dict]:
        for e in range(self.config.passes):
            yield from self.iter_pass(e, on_rows)


SCRATCH_PREFIX = "mosaic-rows-"


def scratch_dir(parent: Path | None = None) -> tempfile.TemporaryDirectory:
    """A scratch directory named after this process; those of processes that no longer exist (killed
    before they could clean up) are removed first."""
    base = Path(parent) if parent else Path(tempfile.gettempdir())
    for old in base.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = old.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)) and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=parent)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
