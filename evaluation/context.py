"""What every adapter needs from a trained run: the checkpoint (loaded once, on the resolved device and
precision), its pinned prompt template, one generation layer with an on-disk cache, and the configured judge.

Placement: ``device`` is resolved by ``mosaic.hardware`` (``generation.device``, default auto). On a GPU
the weights are loaded in half precision (``generation.precision``: auto = bf16 where supported, else
fp32; fp16 when asked) and lm-eval,
generation and the local judge all compute there; on a CPU the weights stay fp32 and bf16 is autocast
where the CPU has bf16 kernels. Before a vLLM engine starts, the Transformers model (loaded for lm-eval)
is freed, so the two never hold the GPU together.

The template is the one the run trained with (``model.template``), stored with every result: a wrong
template is the most common reason published instruction-tuning numbers fail to reproduce.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Sequence

from mosaic.hardware import free_accelerator_memory

from .generation import GenerationConfig, Generator, VLLMGenerator, checkpoint_hash
from .judges import make_judge

BACKENDS = ("auto", "transformers", "vllm")
PLACEMENT_KEYS = ("backend", "device", "precision")  # of the ``generation`` group, not GenerationConfig fields


@dataclass
class EvalContext:
    checkpoint: Path | None  # None: only existing outputs are scored (``mosaic eval``); nothing may generate
    template: str
    out_dir: Path
    model_id: str
    seed: int = 0
    bf16: bool = False    # half precision: bf16 autocast on a CPU, bf16 weights on a GPU
    device: str = "cpu"   # resolved: cpu | cuda
    fp16: bool = False    # a GPU without bf16: fp16 weights
    checkpoint_id: str | None = None  # stands for the checkpoint's hash (given, or when there is no checkpoint)
    judge_cfg: dict = field(default_factory=dict)  # the ``judge`` group (conf/judge/)
    generation: dict = field(default_factory=dict)  # GenerationConfig defaults for every adapter

    def _needs_checkpoint(self, what: str) -> Path:
        if self.checkpoint is None:
            raise ValueError(f"{self.model_id}: {what} needs a model (mosaic eval --model), but only existing "
                             "outputs were given")
        return self.checkpoint

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        self._needs_checkpoint("the tokenizer")

        tok = AutoTokenizer.from_pretrained(self.checkpoint)
        return tok

    @cached_property
    def model(self):
        import torch
        from transformers import AutoModelForCausalLM

        self._needs_checkpoint("loading the model")
        dtype = torch.float32
        if self.device != "cpu":
            dtype = torch.bfloat16 if self.bf16 else torch.float16 if self.fp16 else torch.float32
        model = AutoModelForCausalLM.from_pretrained(self.checkpoint, dtype=dtype).to(self.device)
        return model.eval()

    def release_model(self) -> None:
        """Free the Transformers model (and its GPU memory) when nothing else will use it."""
        if "model" in self.__dict__:
            del self.__dict__["model"]
            free_accelerator_memory()

    @cached_property
    def checkpoint_hash(self) -> str:
        return self.checkpoint_id or checkpoint_hash(self._needs_checkpoint("its hash"))

    @cached_property
    def generator(self):
        """vLLM when it is installed and a GPU is present (or ``generation.backend=vllm``), else Transformers."""
        self._needs_checkpoint("generation")
        backend = self.generation.get("backend", "auto")
        if backend not in BACKENDS:
            raise ValueError(f"generation.backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "vllm" or (backend == "auto" and _vllm_usable()):
            self.release_model()
            return VLLMGenerator(self.checkpoint, self.template, self.checkpoint_hash,
                                 cache_path=self.out_dir / "generation_cache.jsonl")
        return Generator(self.model, self.tokenizer, self.template, checkpoint_id=self.checkpoint_hash,
                         cache_path=self.out_dir / "generation_cache.jsonl", bf16=self.bf16)

    def generate(self, conversations: Sequence[list[dict]], **overrides) -> list[str]:
        """Responses to chat conversations (lists of {role, content}); cached per checkpoint, prompt and config."""
        settings = {k: v for k, v in self.generation.items() if k not in PLACEMENT_KEYS}
        cfg = GenerationConfig(**{"seed": self.seed, **settings, **overrides})
        return [c.text for c in self.generator.generate(list(conversations), cfg)]

    @cached_property
    def judge(self):
        """The configured judge; a local one is placed like the model under evaluation."""
        return make_judge({**self.judge_cfg, "cache_dir": str(self.out_dir / "judge_cache")}, device=self.device,
                          precision=self.precision)

    def identity(self) -> dict:
        return {"model_id": self.model_id, "checkpoint": str(self.checkpoint), "checkpoint_hash": self.checkpoint_hash,
                "template": self.template, "seed": self.seed, "generation": self.generation,
                "device": self.device, "precision": self.precision}

    @property
    def precision(self) -> str:
        return "bf16" if self.bf16 else "fp16" if self.fp16 else "fp32"


def placement(generation: dict, train: dict) -> dict:
    """EvalContext's ``device``, ``bf16`` and ``fp16``; the rule is ``mosaic.hardware.eval_placement``."""
    from mosaic.hardware import eval_placement

    device, precision = eval_placement(generation, train)
    return {"device": device, "bf16": precision == "bf16", "fp16": precision == "fp16"}


def _vllm_usable() -> bool:
    import importlib.util

    from mosaic.hardware import cuda_available

    return importlib.util.find_spec("vllm") is not None and cuda_available()
