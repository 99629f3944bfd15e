"""The model behind the server: ``Backend`` loads a Transformers checkpoint (or the bundled SmolLM2) with its
tokenizer and template into a ``Generator`` without a cache, checks that a request fits the model's context
(a 400 otherwise), and generates a request one model batch at a time,
taking a ``FairLock`` per batch, so a large request lets other clients in between its batches. Torch and
Transformers are imported only when a backend is built, so the launcher and the request handling load
without them.
"""
from __future__ import annotations

import sys
from pathlib import Path

from mosaic.models.smollm2 import model_dir
from mosaic.models.tokenizer import load_tokenizer

from ..generation import Completion, Generator
from .fairlock import FairLock
from .fields import BadRequest
from .limits import Limits
from .token_bytes import token_bytes


class Backend:
    """The model, its tokenizer and template behind the server; one model batch at a time, in arrival order."""

    def __init__(self, model: str, template: str, name: str, bf16: bool | None = None, limits: Limits = Limits(),
                 log: bool = False):
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
        self.limits, self.log = limits, log
        # the tokenizer too: a Rust tokenizer shared across threads can fail "Already borrowed"
        self.lock = FairLock()

    def run(self, prompts: list[str], cfg, add_special_tokens: bool, field: str):
        """Completions of rendered prompts and their prompt token counts; 400 if they do not fit.

        Distinct prompts are generated longest first in batches of ``cfg.batch_size`` (the batches one
        ``generate_text`` call would make, so chunking changes no output), each batch under the lock."""
        with self.lock:
            lengths = [len(ids) for ids in self.tok(prompts, add_special_tokens=add_special_tokens)["input_ids"]]
        self._check_fits(max(lengths), cfg.max_new_tokens, field)
        length_of = dict(zip(prompts, lengths))
        order = sorted(length_of, key=lambda p: -length_of[p])
        chunks = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        done: dict[str, Completion] = {}
        for n, chunk in enumerate(chunks, 1):
            with self.lock:
                out = self.generator.generate_text(chunk, cfg, add_special_tokens=add_special_tokens)
                if cfg.logprobs is not None:
                    out = [self._with_bytes(c) for c in out]
            done.update(zip(chunk, out))
            if self.log and len(chunks) > 1:
                sys.stderr.write(f"generated chunk {n}/{len(chunks)} of {len(prompts)} prompts\n")
        return [done[p] for p in prompts], lengths

    def _check_fits(self, worst: int, max_new_tokens: int, field: str) -> None:
        if self.context:
            if worst >= self.context:
                raise BadRequest(f"the prompt has {worst} tokens; this model's context is {self.context}", field)
            if worst + max_new_tokens > self.context:
                raise BadRequest(f"this model's maximum context length is {self.context} tokens, but {worst} "
                                 f"prompt + {max_new_tokens} max_tokens were requested", "max_tokens")

    def _with_bytes(self, c: Completion) -> Completion:
        """The completion with each logprob entry's token bytes (under the lock: they read the tokenizer)."""
        def entry(e: dict) -> dict:
            return {**e, "bytes": token_bytes(self.tok, e["id"], e["token"])}

        lps = [{**entry(t), "top": [entry(a) for a in t["top"]]} for t in c.logprobs or []]
        return Completion(c.text, c.n_tokens, c.finish_reason, lps)
