"""Loss masking and the three batching regimes on a tiny random Llama with the real SmolLM2 tokenizer."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.data.sources import resolve_examples
from mosaic.data.templates import get_template
from mosaic.train.collate import packed_batch, pad_batch
from mosaic.train.features import IGNORE, encode
from mosaic.train.packing import best_fit_decreasing, next_fit


@pytest.fixture(scope="module")
def examples(tokenizer):
    tpl = get_template("vicuna_v1.1")
    return [encode(tokenizer, tpl, e.prompt, e.output) for e in list(resolve_examples("bundled"))[:4]]


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048)
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


def loss_and_grads(model, batch):
    model.zero_grad()
    loss = model(**batch).loss
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_packed_equals_unpacked_and_leaking_attention_does_not(tokenizer, model, examples):
    pad = tokenizer.pad_token_id
    rows = [[examples[i] for i in row] for row in next_fit([len(e) for e in examples], 2048)]
    assert len(rows) < len(examples)  # really packed
    ref_loss, ref_grads = loss_and_grads(model, pad_batch(examples, pad))
    loss, grads = loss_and_grads(model, packed_batch(rows, pad))
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for name, g in grads.items():
        torch.testing.assert_close(g, ref_grads[name], rtol=1e-4, atol=1e-6, msg=name)
    # Negative control: with attention across examples, the same checks fail.
    leaky_loss, leaky_grads = loss_and_grads(model, packed_batch(rows, pad, block_diagonal=False))
    assert abs(leaky_loss - ref_loss) > 100 * max(abs(loss - ref_loss), 1e-7)
    with pytest.raises(AssertionError):
        for name, g in leaky_grads.items():
            torch.testing.assert_close(g, ref_grads[name], rtol=1e-4, atol=1e-6, msg=name)


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
