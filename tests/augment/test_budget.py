"""The budget is never exceeded, checked by re-tokenizing every sample with the real tokenizer."""
import json

import pytest

from mosaic.augment.engine import AugmentConfig
from mosaic.augment.run import augment_file
from mosaic.data.templates import get_template


@pytest.mark.parametrize("template,max_tokens,strategy,wrap_mode", [
    ("vicuna_v1.1", 400, "all", "uniform"),
    ("chat_template", 700, "all", "max_length"),
    ("raw", 300, "maskout", "fix_max"),
    ("vicuna_v1.1", 1000, "permute", "pareto"),
])
def test_budget_never_exceeded_on_bundled_data(tmp_path, tokenizer, template, max_tokens, strategy, wrap_mode):
    out = tmp_path / "m.jsonl"
    cfg = AugmentConfig(template=template, max_tokens=max_tokens, strategy=strategy, wrap_mode=wrap_mode,
                        passes=1, seed=11)
    summary = augment_file("bundled", out, "smollm2", cfg, progress=False)
    tpl = get_template(template)
    samples = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert len(samples) == summary["samples"] > 0
    worst = 0
    for s in samples:
        exact = tpl.count(tokenizer, s["instruction"], s["output"])
        assert exact <= max_tokens, (s["id"], exact)
        assert exact <= s["n_tokens"]  # the recorded length is an upper bound (exact near the budget)
        worst = max(worst, exact)
    if wrap_mode in ("max_length", "fix_max"):
        assert worst > 0.8 * max_tokens  # greedy filling really uses the budget
        assert summary["budget_checks"]["exact"] > 0  # samples near the budget were counted exactly


def test_estimate_error_stays_far_below_the_exact_margin(tmp_path, tokenizer):
    """Every sample estimated (no exact counts): the estimate errs by less than the margin that triggers
    exact counting, so samples judged by the estimate alone cannot exceed the budget."""
    from mosaic.augment.budget import TokenCounter
    from mosaic.augment.engine import MosaicBuilder, RowStore
    from mosaic.data.sources import resolve_examples

    cfg = AugmentConfig(max_tokens=100_000, passes=3, seed=5, wrap_mode="uniform")
    tpl = get_template(cfg.template)
    counter = TokenCounter(tokenizer, tpl, exact_margin=0)
    store = RowStore.build(resolve_examples("bundled"), counter, tmp_path)
    errors = []
    try:
        for e in range(cfg.passes):
            for s in MosaicBuilder(store, counter, cfg).iter_pass(e):
                errors.append(tpl.count(tokenizer, s["instruction"], s["output"]) - s["n_tokens"])
    finally:
        store.close()
    assert counter.stats.exact == 0 and len(errors) > 100
    assert max(errors) < TokenCounter.exact_margin // 2, max(errors)


@pytest.mark.parametrize("strategy", ["all", "primary", "format", "permute", "maskout"])
def test_fast_estimate_equals_the_sum_over_pieces(tmp_path, tokenizer, strategy):
    import random

    from mosaic.augment.budget import TokenCounter
    from mosaic.augment.engine import RowStore
    from mosaic.augment.strategies import Vocabulary, compose, parse_mix
    from mosaic.data.sources import resolve_examples

    counter = TokenCounter(tokenizer, get_template("vicuna_v1.1"))
    store = RowStore.build(resolve_examples("bundled"), counter, tmp_path)
    rng, mix, vocab = random.Random(3), parse_mix(strategy), Vocabulary("train")
    try:
        for _ in range(400):
            items = [store.item(rng.randrange(len(store))) for _ in range(rng.randint(1, 12))]
            plan = compose(mix, items, rng, vocab)
            assert counter.estimate(plan, items) == counter.estimate_by_pieces(plan, items)
    finally:
        store.close()
