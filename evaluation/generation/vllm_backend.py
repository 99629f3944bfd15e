"""The optional vLLM backend (GPU machines): ``VLLMGenerator``, the same interface as the Transformers
``Generator`` (same rendering, cache keys, stop tokens and stop-string cut, from ``BackendBase``) over a vLLM
engine. vLLM is imported only when one is built, so machines without it never touch it.

One engine lives in a process at a time (``Engines``): every adapter of a run shares it, and a
generator for another checkpoint (pairwise's baseline) shuts the previous engine down and frees its GPU
memory before starting its own, instead of a second engine failing for memory.
"""
from __future__ import annotations

from pathlib import Path

from mosaic.data.templates import get_template
from mosaic.hardware import free_accelerator_memory
from mosaic.stages import checkpoint_hash

from .base import BackendBase, end_of_turn_ids
from .cache import GenerationCache
from .config import Completion, GenerationConfig


class Engines:
    """At most one live engine, keyed by model directory and engine arguments."""

    def __init__(self, factory=None):
        self.factory = factory  # None: vllm.LLM (imported on first use)
        self.key, self.engine, self.started = None, None, 0

    def get(self, model_dir: str | Path, **engine_kwargs):
        key = (str(model_dir), tuple(sorted(engine_kwargs.items())))
        if self.key == key:
            return self.engine
        self.release()
        factory = self.factory or _vllm_llm()
        self.engine, self.key = factory(model=str(model_dir), **engine_kwargs), key
        self.started += 1
        return self.engine

    def release(self) -> None:
        """Drop the live engine and return its memory (vLLM frees GPU memory when the engine is collected)."""
        if self.engine is None:
            return
        shutdown = getattr(getattr(self.engine, "llm_engine", None), "shutdown", None)
        if callable(shutdown):
            shutdown()
        self.engine = self.key = None
        free_accelerator_memory()


def _vllm_llm():
    try:
        from vllm import LLM
    except ImportError:
        raise RuntimeError("the vLLM backend needs `pip install vllm` on a GPU machine; vllm is not "
                           "installed here, use the default Transformers backend (evaluation.generation."
                           "Generator)") from None
    return LLM


ENGINES = Engines()


class VLLMGenerator(BackendBase):
    """The same interface over vLLM (GPU machines). vLLM is imported only here; without it this raises a
    clear error and the Transformers ``Generator`` is the backend."""

    def __init__(self, model_dir: str | Path, template: str, checkpoint_id: str | None = None,
                 cache_path: str | Path | None = None, use_cache: bool = True, engines: Engines = ENGINES,
                 **engine_kwargs):
        self.llm = engines.get(model_dir, **engine_kwargs)
        self.tok = self.llm.get_tokenizer()
        self.template = get_template(template)
        self.checkpoint_id = checkpoint_id or checkpoint_hash(model_dir)
        self.cache = GenerationCache(cache_path, memory=use_cache)
        self.stop_ids = end_of_turn_ids(self.tok, self.template)

    def _run(self, todo: dict[str, str], cfg: GenerationConfig, special: bool) -> dict[str, Completion]:
        from vllm import SamplingParams

        keys = list(todo)
        encoded = self.tok([todo[k] for k in keys], add_special_tokens=special)["input_ids"]
        params = SamplingParams(max_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                                top_k=cfg.top_k if cfg.top_k > 0 else -1, seed=cfg.seed,
                                stop_token_ids=self.stop_ids, logprobs=cfg.logprobs)
        outs = self.llm.generate([{"prompt_token_ids": ids} for ids in encoded], params)
        done = {}
        for k, o in zip(keys, outs):
            gen = o.outputs[0]
            tokens = [t for t in gen.token_ids if t not in self.stop_ids]
            lps = None
            if cfg.logprobs is not None and gen.logprobs is not None:
                lps = []
                for tid, alts in zip(tokens, gen.logprobs):
                    ranked = sorted(alts.items(), key=lambda kv: -kv[1].logprob)[:cfg.logprobs]
                    lps.append({"id": tid, "token": self.tok.decode([tid]), "logprob": alts[tid].logprob,
                                "top": [{"id": j, "token": self.tok.decode([j]), "logprob": v.logprob}
                                        for j, v in ranked]})
            done[k] = self._finish(tokens, cfg, gen.finish_reason == "stop", lps)
        self.cache.put(list(done.items()))
        return done
