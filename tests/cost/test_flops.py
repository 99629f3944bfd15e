"""Pinned cost formulas, on SmolLM2-135M's shape (its published parameter count checks the shape)."""
import pytest

from mosaic.cost.flops import ModelShape

SMOLLM2 = dict(num_hidden_layers=30, hidden_size=576, num_attention_heads=9, num_key_value_heads=3,
               intermediate_size=1536, vocab_size=49152, tie_word_embeddings=True)


def test_parameter_count_matches_the_loaded_model():
    shape = ModelShape.from_config(SMOLLM2)
    assert shape.dh == 64
    assert shape.total_params == 134_515_008  # what transformers reports for the converted checkpoint
    # q and o: 576x576 each; k and v: 576x192 each; gated MLP: 3x576x1536; LM head 576x49152
    assert shape.layer_matmul_params == 2 * 576 * 576 + 2 * 576 * 192 + 3 * 576 * 1536
    assert shape.matmul_params == 30 * 3_538_944 + 576 * 49152


def test_flop_formulas():
    shape = ModelShape.from_config(SMOLLM2)
    assert shape.forward_matmul_flops(10) == 2 * shape.matmul_params * 10
    # 4 L^2 (heads * head_dim) per layer for dense attention; causal keeps L(L+1)/2 pairs
    assert shape.attention_flops(8, causal=False) == 30 * 4 * 64 * 576
    assert shape.attention_flops(8, causal=True) == 30 * 4 * 36 * 576
    assert shape.train_flops(10, 1000) == 3 * (shape.forward_matmul_flops(10) + 1000)


def test_untied_embeddings_and_head_dim_override():
    base = ModelShape.from_config(SMOLLM2)
    untied = ModelShape.from_config(dict(SMOLLM2, tie_word_embeddings=False))
    assert untied.total_params - base.total_params == 49152 * 576
    assert untied.matmul_params == base.matmul_params  # the LM head is a matmul either way
    narrow = ModelShape.from_config(dict(SMOLLM2, head_dim=32))
    assert narrow.layer_matmul_params == 576 * 32 * (2 * 9 + 2 * 3) + 3 * 576 * 1536


def test_missing_config_field_is_named():
    with pytest.raises(ValueError, match="num_hidden_layers"):
        ModelShape.from_config({"hidden_size": 8})
