"""The model behind the server: ``Backend`` loads a Transformers checkpoint (or the bundled SmolLM2) with its
tokenizer and template into a ``Generator`` without a cache, checks that a request fits the model's context
(a 400 otherwise) and serialises generation with a lock. Torch and Transformers are imported only when a
backend is built, so the launcher and the request handling load without them.
"""
from __future__ import annotations

import threading
from pathlib import Path

from mosaic.models.smollm2 import model_dir
from mosaic.models.tokenizer import load_tokenizer

from ..generation import Generator
from .fields import BadRequest


class Backend:
    """The model, its tokenizer and template behind the server; one generation at a time."""

    def __init__(self, model: str, template: str, name: str, bf16: bool | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if model == "smollm2":
            path, tok = model_dir(), load_tokenizer("smollm2")
        else:
            path = Path(model)
            if not path.is_dir():
                raise SystemExit(f"--model {model}: not a directory (and not 'smollm2')")
            tok = AutoTokenizer.from_pretrained(path)
        net = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        self.generator = Generator(net, tok, template, checkpoint_id=name, bf16=bf16, progress=False,
                                   use_cache=False)
        self.tok, self.template, self.name = tok, self.generator.template, name
        self.context = getattr(net.config, "max_position_embeddings", None)
        self.lock = threading.Lock()

    def run(self, prompts: list[str], cfg, add_special_tokens: bool, field: str):
        """Completions of rendered prompts and their prompt token counts; 400 if they do not fit the context."""
        with self.lock:  # the tokenizer too: a Rust tokenizer shared across threads can fail "Already borrowed"
            lengths = [len(ids) for ids in self.tok(prompts, add_special_tokens=add_special_tokens)["input_ids"]]
            if self.context:
                worst = max(lengths)
                if worst >= self.context:
                    raise BadRequest(f"the prompt has {worst} tokens; this model's context is {self.context}", field)
                if worst + cfg.max_new_tokens > self.context:
                    raise BadRequest(f"this model's maximum context length is {self.context} tokens, but {worst} "
                                     f"prompt + {cfg.max_new_tokens} max_tokens were requested", "max_tokens")
            out = self.generator.generate_text(prompts, cfg, add_special_tokens=add_special_tokens)
        return out, lengths
