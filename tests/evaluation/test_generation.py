"""The generation layer on the tiny model: batching, order, finish reasons, cache, seeded sampling."""
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from evaluation.generation import GenerationConfig, Generator, checkpoint_hash

CONVS = [[{"role": "user", "content": q}] for q in
         ["Hi", "Tell me a long story about a dragon and a knight", "2+2?", "Name a colour please", "Why?"]]


def generator(path, cache=None):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return Generator(model, AutoTokenizer.from_pretrained(path), "vicuna_v1.1", checkpoint_hash(path),
                     cache_path=cache, progress=False)


def test_batched_equals_one_at_a_time_in_input_order(tiny_checkpoint):
    g = generator(tiny_checkpoint)
    cfg = GenerationConfig(max_new_tokens=8, batch_size=4)
    batched = g.generate(CONVS, cfg)
    single = [generator(tiny_checkpoint).generate([c], GenerationConfig(max_new_tokens=8, batch_size=1))[0]
              for c in CONVS]
    assert [b.text for b in batched] == [s.text for s in single]
    assert all(b.finish_reason in ("stop", "length") and b.n_tokens <= 8 for b in batched)
    assert any(b.finish_reason == "length" for b in batched)


def test_cache_avoids_regeneration_and_survives_a_torn_line(tiny_checkpoint, tmp_path):
    cache = tmp_path / "gen.jsonl"
    g = generator(tiny_checkpoint, cache)
    first = g.generate(CONVS, GenerationConfig(max_new_tokens=6))
    assert g.model_calls == 1
    with open(cache, "a") as fh:
        fh.write('{"key": "torn')  # a killed run
    again = generator(tiny_checkpoint, cache)
    assert again.generate(CONVS, GenerationConfig(max_new_tokens=6)) == first and again.model_calls == 0
    again.generate(CONVS[:1], GenerationConfig(max_new_tokens=7))
    assert again.model_calls == 1  # another config is another key


def test_sampling_is_seeded(tiny_checkpoint):
    g = generator(tiny_checkpoint)
    a = g.generate(CONVS, GenerationConfig(max_new_tokens=8, temperature=1.0, seed=1))
    b = generator(tiny_checkpoint).generate(CONVS, GenerationConfig(max_new_tokens=8, temperature=1.0, seed=1))
    c = generator(tiny_checkpoint).generate(CONVS, GenerationConfig(max_new_tokens=8, temperature=1.0, seed=2))
    assert a == b and a != c


def test_checkpoint_hash_changes_with_the_weights(tiny_checkpoint, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    model.save_pretrained(tmp_path)
    assert checkpoint_hash(tmp_path) != checkpoint_hash(tiny_checkpoint)
