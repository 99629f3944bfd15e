"""The optional vLLM backend (GPU machines): ``VLLMGenerator``, the same interface as the Transformers
``Generator`` (same rendering, cache keys, stop tokens and stop-string cut, from ``BackendBase``) over a vLLM
engine. vLLM is imported only when one is built, so machines without it never touch it.
"""
from __future__ import annotations

from pathlib import Path

from mosaic.data.templates import get_template
from mosaic.stages import checkpoint_hash

from .base import BackendBase, end_of_turn_ids
from .cache import GenerationCache
from .config import Completion, GenerationConfig


class VLLMGenerator(BackendBase):
    """The same interface over vLLM (GPU machines). vLLM is imported only here; without it this raises a
    clear error and the Transformers ``Generator`` is the backend."""

    def __init__(self, model_dir: str | Path, template: str, checkpoint_id: str | None = None,
                 cache_path: str | Path | None = None, use_cache: bool = True, **engine_kwargs):
        try:
            from vllm import LLM
        except ImportError:
            raise RuntimeError("the vLLM backend needs `pip install vllm` on a GPU machine; vllm is not "
                               "installed here, use the default Transformers backend (evaluation.generation."
                               "Generator)") from None
        self.llm = LLM(model=str(model_dir), **engine_kwargs)
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
