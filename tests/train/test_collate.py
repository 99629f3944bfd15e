"""Loss masking and the three batching regimes on a tiny random Llama with the real SmolLM2 tokenizer.

The reference for every collated batch is each example run alone (batch of one, no padding, no mask);
the packing test runs under every attention implementation available here (mosaic/hardware.py)."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.data.sources import resolve_examples
from mosaic.data.templates import get_template
from mosaic.hardware import ATTENTION, attention_available
from mosaic.train.collate import packed_batch, pad_batch
from mosaic.train.features import IGNORE, encode
from mosaic.train.recipe import _loss_sum
from mosaic.train.packing import best_fit_decreasing, next_fit


@pytest.fixture(scope="module")
def examples(tokenizer):
    tpl = get_template("vicuna_v1.1")
    return [encode(tokenizer, tpl, e.prompt, e.output) for e in list(resolve_examples("bundled"))[:4]]


AVAILABLE = [a for a in ATTENTION if attention_available(a, "cuda" if torch.cuda.is_available() else "cpu")]


def tiny_llama(tokenizer, attention: str = "sdpa"):
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      attn_implementation=attention)
    return LlamaForCausalLM(cfg)


def test_prompt_is_masked_and_end_token_is_learned(tokenizer, examples):
    e = examples[0]
    prompt_len = next(i for i, x in enumerate(e.labels) if x != IGNORE)
    assert prompt_len > 30 and all(x == IGNORE for x in e.labels[:prompt_len])
    assert e.labels[prompt_len:] == e.input_ids[prompt_len:]
    assert e.input_ids[-1] == tokenizer.eos_token_id == tokenizer.pad_token_id  # SmolLM2: pad == eos
    batch = pad_batch(examples[:2], tokenizer.pad_token_id)
    short = min(range(2), key=lambda r: len(examples[r]))
    n = len(examples[short])
    assert batch["labels"][short, n - 1] == tokenizer.eos_token_id  # the real end token keeps its label
    assert (batch["labels"][short, n:] == IGNORE).all() and (batch["input_ids"][short, n:] == tokenizer.pad_token_id).all()


def test_static_and_dynamic_padding_shapes(tokenizer, examples):
    assert pad_batch(examples, tokenizer.pad_token_id, pad_to=512)["input_ids"].shape == (4, 512)
    assert pad_batch(examples, tokenizer.pad_token_id)["input_ids"].shape == (4, max(len(e) for e in examples))
    with pytest.raises(ValueError):
        pad_batch(examples, tokenizer.pad_token_id, pad_to=8)


def loss_and_grads(model, batches):
    """Summed next-token loss over ``batches`` (one dict or a list) and the gradients of that sum."""
    model.zero_grad()
    batches = batches if isinstance(batches, list) else [batches]
    loss = sum(_loss_sum(model, b, "fp32", chunked=False) for b in batches)  # the training forward
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}


def assert_same(got, ref):
    assert got[0] == pytest.approx(ref[0], rel=1e-5)
    for name, g in got[1].items():
        torch.testing.assert_close(g, ref[1][name], rtol=1e-4, atol=1e-6, msg=name)


def alone(model, examples):
    return loss_and_grads(model, [pad_batch([e], 0) for e in examples])


def test_right_padding_needs_no_mask(tokenizer, examples):
    """A dynamic batch (no mask) computes what each example computes alone, and what the same batch with
    an explicit 2-D padding mask computes."""
    model = tiny_llama(tokenizer)
    batch = pad_batch(examples, tokenizer.pad_token_id)
    assert "attention_mask" not in batch
    ref = alone(model, examples)
    assert_same(loss_and_grads(model, batch), ref)
    mask = (torch.arange(batch["input_ids"].size(1))[None] < torch.tensor([len(e) for e in examples])[:, None])
    assert_same(loss_and_grads(model, {**batch, "attention_mask": mask.long()}), ref)


@pytest.mark.parametrize("attention", AVAILABLE)
def test_packed_equals_alone_and_leaking_attention_does_not(tokenizer, examples, attention):
    model = tiny_llama(tokenizer, attention)
    assert model.config._attn_implementation == attention and model.config.use_cache  # the trap is armed
    pad = tokenizer.pad_token_id
    rows = [[examples[i] for i in row] for row in next_fit([len(e) for e in examples], 2048)]
    assert len(rows) < len(examples) and any(len(r) > 1 for r in rows)  # really packed
    ref = alone(model, examples)
    got = loss_and_grads(model, packed_batch(rows, pad))
    assert_same(got, ref)
    # Negative control: with attention across examples, the same checks fail.
    leaky = loss_and_grads(model, packed_batch(rows, pad, block_diagonal=False))
    assert abs(leaky[0] - ref[0]) > 100 * max(abs(got[0] - ref[0]), 1e-7)
    with pytest.raises(AssertionError):
        assert_same(leaky, ref)


def test_packing_requires_masked_first_token(tokenizer):
    from mosaic.train.features import Encoded
    with pytest.raises(ValueError, match="loss-masked prompt token"):
        packed_batch([[Encoded([1, 2], [IGNORE, 2]), Encoded([3, 4], [3, 4])]], tokenizer.pad_token_id)


def test_next_fit():
    assert next_fit([3, 5, 2, 6, 4], 8) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="more than max_len"):
        next_fit([9], 8)


def test_best_fit_decreasing_fills_rows_tighter_than_next_fit():
    assert best_fit_decreasing([3, 5, 2, 6, 4], 8) == [[3, 2], [1, 0], [4]]  # rows (6,2), (5,3), (4)
    lengths = [700, 300, 650, 400, 350, 900, 120, 500]
    for rows in (best_fit_decreasing(lengths, 1024), next_fit(lengths, 1024)):
        assert sorted(i for r in rows for i in r) == list(range(len(lengths)))
        assert all(sum(lengths[i] for i in r) <= 1024 for r in rows)
    assert len(best_fit_decreasing(lengths, 1024)) < len(next_fit(lengths, 1024))
    with pytest.raises(ValueError, match="more than max_len"):
        best_fit_decreasing([9], 8)


def test_length_grouped_epochs_depend_on_seed_and_epoch():
    from mosaic.train.batches import epoch_batches

    lengths = [10 + (i * 37) % 300 for i in range(40)]  # one sorting window holds the whole epoch
    plan = lambda seed, epoch: epoch_batches(lengths, "dynamic", batch_size=4, max_len=512, seed=seed, epoch=epoch)
    assert plan(0, 0) == plan(0, 0)
    assert plan(0, 0) != plan(1, 0) and plan(0, 0) != plan(0, 1)
    for mb in plan(0, 0):  # batches still group similar lengths
        assert max(lengths[r[0]] for r in mb) - min(lengths[r[0]] for r in mb) < 60
