"""The generation layer on tiny models: batching and left padding, input order, finish reasons on the exact
end-of-turn token, stop strings, logprobs, the on-disk cache, seeded sampling, the vLLM guard."""
import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from evaluation.generation import (Completion, GenerationConfig, Generator, VLLMGenerator, checkpoint_hash,
                                   end_of_turn_ids)
from mosaic.data.templates import get_template

CONVS = [[{"role": "user", "content": q}] for q in
         ["Hi", "Tell me a long story about a dragon and a knight", "2+2?", "Name a colour please", "Why?"]]


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(tiny_checkpoint)


def generator(tiny, tiny_checkpoint, cache=None, **kw):
    model, tok = tiny
    return Generator(model, tok, "vicuna_v1.1", checkpoint_hash(tiny_checkpoint), cache_path=cache, bf16=False,
                     progress=False, **kw)


@pytest.fixture(scope="module")
def scripted(tokenizer):
    """A 1-layer Llama whose next token depends only on the current one (attention and MLP outputs are
    zero, so the residual stream is the embedding): ':' -> 'Hello' -> ' world' -> EOS (the end-of-turn
    token). Every vicuna prompt ends in ':', so greedy generation is exactly "Hello world" then stop."""
    ids = [tokenizer(w, add_special_tokens=False)["input_ids"] for w in (":", "Hello", " world")]
    assert all(len(i) == 1 for i in ids)
    chain = [i[0] for i in ids] + [tokenizer.eos_token_id]
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                                         tie_word_embeddings=False))
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.zero_()
        model.lm_head.weight.zero_()
        for k, (src, dst) in enumerate(zip(chain, chain[1:])):
            model.model.embed_tokens.weight[src, k] = 1.0
            model.lm_head.weight[dst, k] = 10.0
    return Generator(model.eval(), tokenizer, "vicuna_v1.1", "scripted", bf16=False, progress=False)


def test_end_of_turn_is_the_token_training_appends(tokenizer):
    for name in ("vicuna_v1.1", "chat_template"):
        tpl = get_template(name)
        _, response = tpl.encode(tokenizer, "Hi", "Hello")
        assert end_of_turn_ids(tokenizer, tpl)[0] in response
    assert end_of_turn_ids(tokenizer, get_template("vicuna_v1.1")) == [tokenizer.convert_tokens_to_ids("<|im_end|>")]


def test_batched_equals_one_at_a_time_in_input_order(tiny, tiny_checkpoint):
    g = generator(tiny, tiny_checkpoint)
    convs = CONVS + [CONVS[1]]  # a duplicate is generated once and returned twice
    batched = g.generate(convs, GenerationConfig(max_new_tokens=8, batch_size=4))
    assert g.model_calls == 2  # 5 distinct prompts in batches of 4
    single = [generator(tiny, tiny_checkpoint).generate([c], GenerationConfig(max_new_tokens=8, batch_size=1))[0]
              for c in convs]
    assert [b.text for b in batched] == [s.text for s in single]
    assert all(b.finish_reason in ("stop", "length") and b.n_tokens <= 8 for b in batched)
    assert any(b.finish_reason == "length" for b in batched)


def test_left_padding(tiny, tiny_checkpoint):
    g = generator(tiny, tiny_checkpoint)
    assert g.tok.padding_side == "right"  # the tokenizer's own default is not what generation uses
    ids, mask = g.pad([[5, 6, 7], [8]])
    assert ids.tolist() == [[5, 6, 7], [g.pad_id, g.pad_id, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_finish_reasons_stop_exactly_on_the_end_of_turn_token(scripted):
    cfg = GenerationConfig(max_new_tokens=8, batch_size=2)
    out = scripted.generate(CONVS[:3], cfg)
    assert out == [Completion("Hello world", 2, "stop")] * 3
    assert scripted.generate(CONVS[:1], GenerationConfig(max_new_tokens=1))[0] == Completion("Hello", 1, "length")
    # a stop string ends the text before it (and counts the tokens that produced it)
    cut = scripted.generate(CONVS[:2], GenerationConfig(max_new_tokens=8, stop=(" wor",)))
    assert cut == [Completion("Hello", 2, "stop")] * 2


def test_logprobs_are_the_models_distribution(tiny, tiny_checkpoint):
    model, tok = tiny
    g = generator(tiny, tiny_checkpoint)
    cfg = GenerationConfig(max_new_tokens=5, batch_size=3, logprobs=3)
    outs = g.generate(CONVS[:3], cfg)  # batched, so two rows are left-padded
    plain = generator(tiny, tiny_checkpoint).generate(CONVS[:3], GenerationConfig(max_new_tokens=5, batch_size=3))
    assert [o.text for o in outs] == [p.text for p in plain]  # asking for logprobs changes nothing else
    for conv, out in zip(CONVS[:3], outs):
        prompt = tok(g.prompt(conv))["input_ids"]
        gen = [t["id"] for t in out.logprobs]
        assert len(gen) == out.n_tokens
        with torch.no_grad():
            logits = model(torch.tensor([prompt + gen])).logits[0, len(prompt) - 1:-1]
        lp = torch.log_softmax(logits.float(), -1)
        for step, entry in enumerate(out.logprobs):
            assert entry["logprob"] == pytest.approx(float(lp[step, entry["id"]]), abs=1e-4)
            top = torch.topk(lp[step], 3)
            assert [a["id"] for a in entry["top"]] == top.indices.tolist()
            assert entry["id"] == entry["top"][0]["id"]  # greedy picks the most likely token


def test_cache_avoids_regeneration_and_survives_a_killed_run(tiny, tiny_checkpoint, tmp_path):
    cache = tmp_path / "gen.jsonl"
    g = generator(tiny, tiny_checkpoint, cache)
    first = g.generate(CONVS, GenerationConfig(max_new_tokens=6))
    assert g.model_calls == 1
    with open(cache, "a") as fh:
        fh.write('{"key": "torn')  # a killed run
    again = generator(tiny, tiny_checkpoint, cache)
    assert again.generate(CONVS, GenerationConfig(max_new_tokens=6)) == first and again.model_calls == 0
    assert again.generate(CONVS, GenerationConfig(max_new_tokens=6, batch_size=2)) == first  # not in the key
    again.generate(CONVS[:1], GenerationConfig(max_new_tokens=7))
    assert again.model_calls == 1  # another config is another key
    rows = [json.loads(line) for line in cache.read_text().splitlines() if not line.startswith('{"key": "torn')]
    assert len(rows) == len(CONVS) + 1  # the append after the torn line is on its own, readable line
    third = generator(tiny, tiny_checkpoint, cache)
    third.generate(CONVS[:1], GenerationConfig(max_new_tokens=7))
    assert third.model_calls == 0


def test_sampling_is_seeded(tiny, tiny_checkpoint):
    cfg = GenerationConfig(max_new_tokens=8, temperature=1.0, seed=1)
    state = torch.random.get_rng_state()
    a = generator(tiny, tiny_checkpoint).generate(CONVS, cfg)
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's RNG is untouched
    b = generator(tiny, tiny_checkpoint).generate(CONVS, cfg)
    c = generator(tiny, tiny_checkpoint).generate(CONVS, GenerationConfig(max_new_tokens=8, temperature=1.0, seed=2))
    assert a == b and a != c


def test_checkpoint_hash_changes_with_the_weights(tiny_checkpoint, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    model.save_pretrained(tmp_path)
    assert checkpoint_hash(tmp_path) != checkpoint_hash(tiny_checkpoint)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no model weights"):
        checkpoint_hash(tmp_path / "empty")


def test_config_errors_and_vllm_guard(tiny_checkpoint):
    with pytest.raises(ValueError, match="top_p"):
        GenerationConfig(top_p=0)
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="pip install vllm"):
            VLLMGenerator(tiny_checkpoint, "vicuna_v1.1")
    else:
        pytest.skip("vllm is installed here")
