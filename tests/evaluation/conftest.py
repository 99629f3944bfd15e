"""A tiny random Llama checkpoint with the SmolLM2 tokenizer, saved once per session (the "smoke model")."""
import pytest


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny") / "checkpoint"
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=2048))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
