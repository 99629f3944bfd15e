"""The recipe on a tiny random Llama: pinned losses, regimes agree, per-token accumulation, exact resume."""
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.data.sources import resolve_examples
from mosaic.data.templates import get_template
from mosaic.train.features import encode
from mosaic.train.batches import plan_steps
from mosaic.train.config import TrainConfig
from mosaic.train.recipe import train


@pytest.fixture(scope="module")
def examples(tokenizer):
    tpl = get_template("vicuna_v1.1")
    return [encode(tokenizer, tpl, e.prompt, e.output) for e in list(resolve_examples("bundled"))[:8]]


def tiny_model(vocab: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048)
    return LlamaForCausalLM(cfg)


def run(tokenizer, examples, **kw):
    model = tiny_model(len(tokenizer))
    state = train(model, examples, TrainConfig(**{"lr": 1e-2, "warmup_ratio": 0.0, **kw}), tokenizer.pad_token_id)
    return model, state


def test_pinned_losses_and_learning(tokenizer, examples):
    _, state = run(tokenizer, examples, batch_size=2, epochs=3)
    losses = [h["loss"] for h in state.history]
    assert losses[0] == pytest.approx(10.8163, abs=2e-3)  # ~ln(49152) = 10.80 for a random init
    assert losses[-1] < losses[0] - 1.0
    assert all(h["loss_tokens"] > 0 and h["real_tokens"] <= h["processed_tokens"] for h in state.history)


def test_three_regimes_same_examples_same_update(tokenizer, examples):
    results = {}
    for regime in ("static_pad", "dynamic", "packed"):
        model, state = run(tokenizer, examples, regime=regime, batch_size=8, max_len=1024, max_steps=1)
        results[regime] = (state.history[0], torch.cat([p.detach().flatten() for p in model.parameters()]))
    ref_rec, ref_w = results["dynamic"]
    for regime, (rec, w) in results.items():
        assert rec["loss"] == pytest.approx(ref_rec["loss"], rel=1e-5), regime
        assert rec["real_tokens"] == ref_rec["real_tokens"]
        # Adam divides by sqrt(v): for near-zero gradients float noise becomes a visible fraction of the
        # 1e-2 step, so compare to 1% of a step
        torch.testing.assert_close(w, ref_w, rtol=1e-4, atol=1e-4)
    assert results["static_pad"][0]["processed_tokens"] == 8 * 1024
    assert results["packed"][0]["processed_tokens"] < results["dynamic"][0]["processed_tokens"]


def test_accumulation_normalises_per_token(tokenizer, examples):
    from mosaic.train.collate import pad_batch
    from mosaic.train.recipe import accumulate

    pad = tokenizer.pad_token_id
    four = examples[:4]
    assert len({e.loss_tokens for e in four}) > 1  # unequal, or the test could not tell the modes apart

    def grads(batches, per_micro_batch_mean=False):
        model = tiny_model(len(tokenizer))
        if per_micro_batch_mean:  # negative control: each micro-batch averaged on its own, then averaged
            for b in batches:
                (model(**b).loss / len(batches)).backward()
        else:
            accumulate(model, batches)
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    whole = grads([pad_batch(four, pad)])
    split = [pad_batch([e], pad) for e in four]
    torch.testing.assert_close(grads(split), whole, rtol=1e-4, atol=1e-7)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(grads(split, per_micro_batch_mean=True), whole, rtol=1e-4, atol=1e-7)


def test_killed_run_resumes_to_the_same_result(tokenizer, examples, tmp_path):
    full, full_state = run(tokenizer, examples, batch_size=2, epochs=2)
    ckpt = tmp_path / "ckpt.pt"
    cfg = TrainConfig(lr=1e-2, warmup_ratio=0.0, batch_size=2, epochs=2, save_every=3)

    def kill(record):
        if record["step"] == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(len(tokenizer)), examples, cfg, tokenizer.pad_token_id, checkpoint=ckpt, on_step=kill)
    resumed_model = tiny_model(len(tokenizer))
    resumed = train(resumed_model, examples, cfg, tokenizer.pad_token_id, checkpoint=ckpt)
    assert resumed.step == full_state.step == 8
    assert [h["step"] for h in resumed.history] == list(range(1, 9))
    assert resumed.history[-1]["loss"] == pytest.approx(full_state.history[-1]["loss"], rel=1e-5)
    for a, b in zip(full.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_resume_refuses_another_config(tokenizer, examples, tmp_path):
    ckpt = tmp_path / "c.pt"
    train(tiny_model(len(tokenizer)), examples, TrainConfig(batch_size=4, max_steps=1, save_every=1),
          tokenizer.pad_token_id, checkpoint=ckpt)
    with pytest.raises(ValueError, match="another config"):
        train(tiny_model(len(tokenizer)), examples, TrainConfig(batch_size=2, max_steps=1, save_every=1),
              tokenizer.pad_token_id, checkpoint=ckpt)


def test_epoch_groups_keep_each_epoch_to_its_examples(examples):
    cfg = TrainConfig(batch_size=2, epochs=2, regime="packed", max_len=512)
    groups = [list(range(0, len(examples), 2)), list(range(1, len(examples), 2))]
    steps = plan_steps([len(e) for e in examples], cfg, groups)
    seen = [sorted(i for mb in step for row in mb for i in row) for step in steps]
    flat = [i for s in seen for i in s]
    assert sorted(flat) == list(range(len(examples)))  # every example exactly once
    first = flat[:len(groups[0])]
    assert sorted(first) == groups[0]  # epoch 0 only sees group 0


def test_real_token_budget_stops_at_the_step_that_reaches_it(examples):
    cfg = TrainConfig(batch_size=2, epochs=3)
    budget = sum(len(e) for e in examples) + 1  # just over one epoch
    steps = plan_steps([len(e) for e in examples], TrainConfig(batch_size=2, epochs=3, max_real_tokens=budget))
    tokens = [sum(len(examples[i]) for mb in s for row in mb for i in row) for s in steps]
    assert sum(tokens) >= budget > sum(tokens[:-1])
    assert len(steps) < len(plan_steps([len(e) for e in examples], cfg))
