"""What every adapter needs from a trained run: the checkpoint (loaded once), its pinned prompt template,
one generation layer with an on-disk cache, and the configured judge.

The template is the one the run trained with (``model.template``), stored with every result: a wrong
template is the most common reason published instruction-tuning numbers fail to reproduce.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Sequence

from .generation import GenerationConfig, Generator, VLLMGenerator, checkpoint_hash
from .judges import make_judge

BACKENDS = ("auto", "transformers", "vllm")


@dataclass
class EvalContext:
    checkpoint: Path
    template: str
    out_dir: Path
    model_id: str
    seed: int = 0
    bf16: bool = False
    judge_cfg: dict = field(default_factory=dict)  # the ``judge`` group (conf/judge/)
    generation: dict = field(default_factory=dict)  # GenerationConfig defaults for every adapter

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(self.checkpoint)
        return tok

    @cached_property
    def model(self):
        import torch
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(self.checkpoint, dtype=torch.float32)
        return model.eval()

    @cached_property
    def checkpoint_hash(self) -> str:
        return checkpoint_hash(self.checkpoint)

    @cached_property
    def generator(self):
        """vLLM when it is installed and a GPU is present (or ``generation.backend=vllm``), else Transformers."""
        backend = self.generation.get("backend", "auto")
        if backend not in BACKENDS:
            raise ValueError(f"generation.backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "vllm" or (backend == "auto" and _vllm_usable()):
            return VLLMGenerator(self.checkpoint, self.template, self.checkpoint_hash,
                                 cache_path=self.out_dir / "generation_cache.jsonl")
        return Generator(self.model, self.tokenizer, self.template, checkpoint_id=self.checkpoint_hash,
                         cache_path=self.out_dir / "generation_cache.jsonl", bf16=self.bf16)

    def generate(self, conversations: Sequence[list[dict]], **overrides) -> list[str]:
        """Responses to chat conversations (lists of {role, content}); cached per checkpoint, prompt and config."""
        settings = {k: v for k, v in self.generation.items() if k != "backend"}
        cfg = GenerationConfig(**{"seed": self.seed, **settings, **overrides})
        return [c.text for c in self.generator.generate(list(conversations), cfg)]

    @cached_property
    def judge(self):
        return make_judge({**self.judge_cfg, "cache_dir": str(self.out_dir / "judge_cache")})

    def identity(self) -> dict:
        return {"model_id": self.model_id, "checkpoint": str(self.checkpoint), "checkpoint_hash": self.checkpoint_hash,
                "template": self.template, "seed": self.seed, "generation": self.generation}


def _vllm_usable() -> bool:
    import importlib.util

    import torch

    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()
