"""An in-process Transformers judge over the generation layer (batched; on the evaluation's device and
precision, bf16 autocast on capable CPUs).

Default: SmolLM2-135M-Instruct (``mosaic.models.smollm2.model_dir()``) with its own chat template. It is
a weak judge; every table names the judge it came from (``identity()``).
"""
from __future__ import annotations

from pathlib import Path

from mosaic.models.smollm2 import model_dir
from mosaic.models.tokenizer import load_tokenizer

from .base import JudgmentCache, uncached
from .usage import UsageMeter, price_for
from ..generation import GenerationConfig, Generator, checkpoint_hash


class LocalJudge:
    def __init__(self, model: str, template: str, *, max_tokens: int, batch_size: int,
                 cache_path: str | Path | None = None, seed: int = 0, temperature: float = 0.0,
                 concurrency: int = 1, price_per_million: dict | None = None, device: str = "cpu",
                 precision: str = "fp32"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if concurrency != 1:
            raise ValueError(f"judge.concurrency must be 1 for the local judge, got {concurrency!r}: it is one "
                             "in-process model, and judge.batch_size sets how many judgments it generates at once")
        if model == "smollm2":
            path, tok = model_dir(), load_tokenizer("smollm2")
            self.name = "SmolLM2-135M-Instruct"
        else:
            path = Path(model)
            if not path.is_dir():
                raise FileNotFoundError(f"local judge model {model!r}: not a directory (and not 'smollm2')")
            tok = AutoTokenizer.from_pretrained(path)
            self.name = path.name
        # the evaluation's placement: on a GPU in its half precision; on a CPU fp32 weights, bf16 autocast
        # where the CPU has the kernels (the Generator's rule)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32) \
            if device != "cpu" else torch.float32
        net = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
        self.generator = Generator(net, tok, template, checkpoint_hash(path), progress=False)
        self.template, self.seed, self.max_tokens = template, seed, max_tokens
        self.temperature, self.batch_size = temperature, batch_size
        self.checkpoint = self.generator.checkpoint_id
        self.cache = JudgmentCache(cache_path)
        self.concurrency = 1
        self.price = price_for(self.name, price_per_million)  # no table entry: usd_estimate stays absent
        self.usage = UsageMeter()  # tokens counted with the judge's own tokenizer
        self._fetched: set[str] = set()

    def identity(self) -> dict:
        return {"kind": "local", "model": self.name, "base_url": None, "checkpoint_hash": self.checkpoint,
                "template": self.template, "temperature": self.temperature, "seed": self.seed}

    def complete(self, messages: list[dict], *, max_tokens: int, temperature: float | None = None) -> str:
        return self.complete_many([messages], max_tokens=max_tokens, temperature=temperature)[0]

    def complete_many(self, conversations: list[list[dict]], *, max_tokens: int, temperature: float | None = None
                      ) -> list[str]:
        """One batched generation for every judgment not yet cached."""
        temperature = self.temperature if temperature is None else temperature
        cfg = GenerationConfig(max_new_tokens=min(max_tokens, self.max_tokens), temperature=temperature,
                               seed=self.seed, batch_size=self.batch_size)
        keys = [JudgmentCache.key(self.checkpoint, self.template, m, temperature, cfg.max_new_tokens, self.seed)
                for m in conversations]
        todo = uncached(keys, self.cache)
        self.usage.add(cached=sum(1 for k in keys if k not in todo and k not in self._fetched))
        if todo:
            chosen = [conversations[i] for i in todo.values()]
            outs = self.generator.generate(chosen, cfg)
            for k, o in zip(todo, outs):
                self.cache.put(k, o.text)
                self._fetched.add(k)
            self.usage.add(calls=len(outs), prompt_tokens=sum(self.prompt_tokens(c) for c in chosen),
                           completion_tokens=sum(o.n_tokens for o in outs))
        return [self.cache.get(k) for k in keys]

    def prompt_tokens(self, messages: list[dict]) -> int:
        """Tokens of the rendered judge prompt, as the generator encodes it."""
        g = self.generator
        return len(g.tok(g.prompt(messages), add_special_tokens=g.template.prompt_special_tokens)["input_ids"])
