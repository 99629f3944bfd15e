"""The chunked loss equals the full-logits loss, in value and in gradients; activation checkpointing
changes neither. Pinned on a tiny random Llama in fp32."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.train.collate import packed_batch, pad_batch
from mosaic.train.config import TrainConfig
from mosaic.train.features import IGNORE, Encoded
from mosaic.train.loss import chunked_loss_sum
from mosaic.train.recipe import _loss_sum, prepare_model, train


def tiny(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64))


def examples() -> list[Encoded]:
    out = []
    for i, n in enumerate([9, 23, 14, 31, 5, 18]):
        ids = [(i * 17 + j * 5) % 96 + 1 for j in range(n)]
        out.append(Encoded(ids, [IGNORE] * 3 + ids[3:]))
    return out


def grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("chunk", [1, 7, 1024])
@pytest.mark.parametrize("collate", ["padded", "packed"])
def test_chunked_loss_and_gradients_equal_the_full_logits_ones(chunk, collate):
    data = examples()
    batch = pad_batch(data, 0) if collate == "padded" else packed_batch([data[:3], data[3:]], 0)
    model = tiny()
    full = _loss_sum(model, batch, "fp32", chunked=False)
    full.backward()
    reference = grads(model)
    model.zero_grad()
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    hidden = model(**inputs, use_cache=False, output_hidden_states=True, logits_to_keep=1).hidden_states[-1]
    chunked = chunked_loss_sum(hidden, model.get_output_embeddings(), batch["labels"], chunk=chunk)
    chunked.backward()
    assert chunked.item() == pytest.approx(full.item(), rel=1e-6, abs=1e-5)
    got = grads(model)
    assert got.keys() == reference.keys()
    for name, g in reference.items():
        torch.testing.assert_close(got[name], g, rtol=1e-5, atol=1e-5, msg=name)


@pytest.mark.parametrize("regime", ["dynamic", "packed"])
def test_activation_checkpointing_gives_the_same_losses(regime):
    cfg = TrainConfig(regime=regime, max_len=64, batch_size=2, epochs=3, lr=1e-3, warmup_ratio=0.0)
    model = tiny()
    plain = train(model, examples(), cfg, pad_id=0).history
    assert model.config.use_cache is True  # switched off while training only: saved checkpoints keep it
    ckpt = train(tiny(), examples(), TrainConfig(**{**cfg.__dict__, "gradient_checkpointing": True}), pad_id=0).history
    assert len(plain) == len(ckpt) >= 3
    for a, b in zip(plain, ckpt):
        assert b["loss"] == pytest.approx(a["loss"], abs=1e-5)


def test_checkpointing_is_switched_on_the_model():
    model = prepare_model(tiny(), TrainConfig(gradient_checkpointing=True))
    on = model.is_activation_checkpointing if hasattr(model, "is_activation_checkpointing") else model.is_gradient_checkpointing
    assert on and model.config.use_cache is False
