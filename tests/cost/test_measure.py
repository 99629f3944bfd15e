"""Measured rates per regime (real training steps on a tiny model) and the wall-time arithmetic."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.cost.compare import compare_costs
from mosaic.cost.flops import ModelShape
from mosaic.cost.measure import add_wall_time, measure_rates
from mosaic.data.sources import resolve_examples
from mosaic.data.templates import get_template
from mosaic.train.features import encode


def test_measure_rates_times_real_steps_and_restores_weights(tokenizer):
    tpl = get_template("vicuna_v1.1")
    examples = [encode(tokenizer, tpl, e.prompt, e.output, 512) for e in list(resolve_examples("bundled@24"))]
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rates = measure_rates(model, {"original": examples[:12], "mosaic": examples[12:]}, ("dynamic", "packed"),
                          steps=1, batch_size=2, max_len=512, bf16=False, pad_id=tokenizer.pad_token_id)
    for variant in ("original", "mosaic"):
        for regime in ("dynamic", "packed"):
            r = rates[variant][regime]
            assert r["timed_steps"] == 1 and r["processed_tokens_per_s"] >= r["real_tokens_per_s"] > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    few = measure_rates(model, {"original": examples[:2]}, ("packed",), steps=1, batch_size=2, max_len=2048,
                        bf16=False, pad_id=tokenizer.pad_token_id)  # two examples fill one row: repeated to time
    assert few["original"]["packed"]["timed_steps"] == 1
    short = [e for e in examples if len(e) <= 128]  # a plan refuses examples longer than max_len
    padded = measure_rates(model, {"original": short[:6], "mosaic": short[6:]}, ("static_pad",), steps=1,
                           batch_size=2, max_len=128, bf16=False, pad_id=tokenizer.pad_token_id)
    # every static_pad step is [2, 128] whatever the data: timed once, the processed rate is shared
    assert padded["mosaic"]["static_pad"]["measured_on"] == "original"
    assert padded["mosaic"]["static_pad"]["processed_tokens_per_s"] == padded["original"]["static_pad"][
        "processed_tokens_per_s"]
    assert "real_tokens_per_s" not in padded["mosaic"]["static_pad"]
    with pytest.raises(ValueError, match="too few examples"):
        measure_rates(model, {"original": []}, ("dynamic",), steps=1, batch_size=2, max_len=2048,
                      bf16=False, pad_id=tokenizer.pad_token_id)


def test_wall_time_is_processed_tokens_over_measured_rate():
    shape = ModelShape(n_layers=1, d_model=4, n_heads=1, n_kv_heads=1, d_ff=8, vocab=10)
    result = compare_costs([100] * 8, [400] * 2, epochs=1, mosaic_epochs=1, max_len=512, batch_size=2,
                           grad_accum=1, shape=shape)
    rates = {v: {r: {"processed_tokens_per_s": 100.0 if v == "original" else 50.0}
                 for r in ("static_pad", "dynamic", "packed")} for v in ("original", "mosaic")}
    add_wall_time(result, rates, devices=2)
    static = {r["variant"]: r for r in result["rows"] if r["regime"] == "static_pad"}
    assert static["original"]["est_hours"] == pytest.approx(8 * 512 / 100 / 2 / 3600)
    assert static["original"]["est_device_hours"] == pytest.approx(8 * 512 / 100 / 3600)
    assert result["mosaic_over_original"]["static_pad"]["device_hours"] == pytest.approx((2 * 512 / 50) / (8 * 512 / 100))
