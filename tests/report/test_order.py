from mosaic.augment.strategies import MIXES
from mosaic.report.order import adapter_order, strategy_variants, variant_order


def test_variants_original_first_then_mosaic_then_registry_then_unknown_sorted():
    assert variant_order(["maskout", "zeta", "all", "primary", "alpha", "none"]) == \
        ["none", "all", "primary", "maskout", "alpha", "zeta"]
    assert variant_order(MIXES) == ["all"] + [m for m in MIXES if m != "all"]
    assert variant_order([]) == []


def test_strategy_variants_follow_the_registry():
    assert strategy_variants() == [m for m in MIXES if m not in ("none", "all")]
    assert strategy_variants() == ["primary", "format", "permute", "maskout"]


def test_adapters_in_table1_order_then_sorted():
    assert adapter_order({"lm_eval", "mt_bench", "pairwise", "alpaca_eval", "mosaic_bench", "new_eval", "a_eval"}) == \
        ["pairwise", "alpaca_eval", "mt_bench", "lm_eval", "mosaic_bench", "a_eval", "new_eval"]
