"""Cost plans: hand-computed on tiny inputs, and equal to what the training recipe's step records add up
to when the same examples are really trained (one rule set: ``mosaic.train.batches``)."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.cost.batching import REGIMES, plan_batches
from mosaic.cost.flops import ModelShape
from mosaic.train.config import TrainConfig
from mosaic.train.features import IGNORE, Encoded
from mosaic.train.recipe import train

LENGTHS = [3, 5, 2, 6, 4]


def cfg(regime: str, **kw) -> TrainConfig:
    return TrainConfig(**{"regime": regime, "max_len": 8, "batch_size": 2, "warmup_ratio": 0.0, **kw})


def test_static_padding_pads_every_row_to_max_len():
    p = plan_batches(LENGTHS, cfg("static_pad"))
    assert (p.sequences, p.steps, p.real_tokens, p.processed_tokens) == (5, 3, 20, 40)
    assert p.padding_fraction == pytest.approx(0.5)


def test_dynamic_padding_pads_to_the_batch_max():
    # the five fit in one length-grouping window: sorted (6,5), (4,3), (2), whatever the seed's order
    assert plan_batches(LENGTHS, cfg("dynamic")).processed_tokens == 2 * 6 + 2 * 4 + 2
    ungrouped = plan_batches(LENGTHS, cfg("dynamic", seed=3), group_by_length=False)
    assert 20 < ungrouped.processed_tokens <= 2 * 6 + 2 * 5 + 4 and ungrouped.real_tokens == 20


def test_packing_fills_rows_best_fit_decreasing():
    p = plan_batches(LENGTHS, cfg("packed", batch_size=1, grad_accum=2))
    # rows: [6,2], [5,3], [4]
    assert (p.sequences, p.steps, p.processed_tokens, p.padding_fraction) == (3, 2, 20, 0.0)


def test_epochs_and_stopping_rules_are_the_trainings():
    assert plan_batches(LENGTHS, cfg("dynamic", epochs=3)).examples == 15
    assert plan_batches(LENGTHS, cfg("dynamic", epochs=3, max_steps=4)).steps == 4
    capped = plan_batches(LENGTHS, cfg("dynamic", epochs=3, max_real_tokens=25))
    assert 25 <= capped.real_tokens < 25 + 11 and capped.steps < 9


def test_flops_executed_versus_useful():
    shape = ModelShape(n_layers=1, d_model=4, n_heads=1, n_kv_heads=1, d_ff=8, vocab=10)
    st = plan_batches([2, 4], TrainConfig(regime="static_pad", max_len=4, batch_size=2), shape=shape)
    pk = plan_batches([2, 4], TrainConfig(regime="packed", max_len=8, batch_size=1), shape=shape)
    useful = 3 * (2 * shape.matmul_params * 6 + shape.attention_flops(2, True) + shape.attention_flops(4, True))
    assert st.flops_useful == pk.flops_useful == useful
    assert st.flops_executed == 3 * (2 * shape.matmul_params * 8 + 2 * shape.attention_flops(4, False))
    assert pk.flops_executed == 3 * (2 * shape.matmul_params * 6 + shape.attention_flops(2, False)
                                     + shape.attention_flops(4, False))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="longer than max_len=4"):
        plan_batches([5], TrainConfig(regime="dynamic", max_len=4, batch_size=1))
    with pytest.raises(ValueError, match="unknown batching regime"):
        plan_batches([1], TrainConfig(regime="bucketed", max_len=4, batch_size=1))


def examples(n: int) -> list[Encoded]:
    out = []
    for i in range(n):
        length = 3 + (i * 7) % 19
        ids = [(i * 13 + j) % 50 + 1 for j in range(length)]
        out.append(Encoded(ids, [IGNORE] * 2 + ids[2:]))
    return out


@pytest.mark.parametrize("regime", REGIMES)
def test_a_cost_plan_equals_what_training_counts(regime):
    """The plan's sequences, steps, real and processed tokens are the sums of the recipe's step records."""
    data = examples(23)
    tc = TrainConfig(regime=regime, max_len=32, batch_size=3, grad_accum=2, epochs=2, seed=5, lr=1e-3)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32))
    history = train(model, data, tc, pad_id=0).history
    plan = plan_batches([len(e) for e in data], tc)
    counted = {k: sum(h[k] for h in history) for k in ("sequences", "examples", "real_tokens", "processed_tokens")}
    assert (plan.steps, plan.sequences, plan.examples, plan.real_tokens, plan.processed_tokens) == (
        len(history), counted["sequences"], counted["examples"], counted["real_tokens"], counted["processed_tokens"])
