"""Batching regimes on hand-computed examples."""
import pytest

from mosaic.cost.batching import plan_batches
from mosaic.cost.flops import ModelShape

LENGTHS = [3, 5, 2, 6, 4]


def test_static_padding_pads_every_row_to_max_len():
    p = plan_batches(LENGTHS, "static_pad", max_len=8, batch_size=2)
    assert (p.sequences, p.steps, p.real_tokens, p.processed_tokens) == (5, 3, 20, 40)
    assert p.padding_fraction == pytest.approx(0.5)


def test_dynamic_padding_pads_to_the_batch_max():
    p = plan_batches(LENGTHS, "dynamic", max_len=8, batch_size=2)
    assert p.processed_tokens == 2 * 5 + 2 * 6 + 4  # batches (3,5), (2,6), (4)
    grouped = plan_batches(LENGTHS, "dynamic", max_len=8, batch_size=2, group_by_length=True)
    assert grouped.processed_tokens == 2 * 6 + 2 * 4 + 2  # sorted: (6,5), (4,3), (2)


def test_packing_fills_rows_next_fit():
    p = plan_batches(LENGTHS, "packed", max_len=8, batch_size=1, grad_accum=2)
    # rows: [3,5], [2,6], [4]
    assert (p.sequences, p.steps, p.processed_tokens, p.padding_fraction) == (3, 2, 20, 0.0)


def test_flops_executed_versus_useful():
    shape = ModelShape(n_layers=1, d_model=4, n_heads=1, n_kv_heads=1, d_ff=8, vocab=10)
    st = plan_batches([2, 4], "static_pad", max_len=4, batch_size=2, shape=shape)
    pk = plan_batches([2, 4], "packed", max_len=8, batch_size=1, shape=shape)
    useful = 3 * (2 * shape.matmul_params * 6 + shape.attention_flops(2, True) + shape.attention_flops(4, True))
    assert st.flops_useful == pk.flops_useful == useful
    assert st.flops_executed == 3 * (2 * shape.matmul_params * 8 + 2 * shape.attention_flops(4, False))
    assert pk.flops_executed == 3 * (2 * shape.matmul_params * 6 + shape.attention_flops(2, False)
                                     + shape.attention_flops(4, False))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="longer than max_len=4"):
        plan_batches([5], "dynamic", max_len=4, batch_size=1)
    with pytest.raises(ValueError, match="unknown batching regime"):
        plan_batches([1], "bucketed", max_len=4, batch_size=1)
