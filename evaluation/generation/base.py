"""What the Transformers and vLLM backends share: ``end_of_turn_ids`` (the tokens generation stops on, the
ones training appends after every answer) and ``BackendBase`` (prompt rendering with the run's template,
cache keys, de-duplication, input order and the stop-string cut of the decoded text). A backend only adds
``_run``, the batched generation of the prompts the cache does not hold yet.
"""
from __future__ import annotations

import hashlib
import json
from typing import Sequence

from .cache import GenerationCache
from .config import Completion, GenerationConfig


def end_of_turn_ids(tok, template) -> list[int]:
    """The token training appends after every answer (the first special token of the template's encoded
    response, as ``mosaic.train.features`` builds it), then EOS if different: generation stops on these."""
    _, response = template.encode(tok, "Hi", "Hello")
    special = set(tok.all_special_ids)
    special |= {i for i, t in getattr(tok, "added_tokens_decoder", {}).items() if getattr(t, "special", False)}
    ids = [t for t in response if t in special][:1]
    if tok.eos_token_id is not None and tok.eos_token_id not in ids:
        ids.append(tok.eos_token_id)
    if not ids:
        raise ValueError(f"template {template.name!r} with tokenizer {tok.name_or_path!r} has no end-of-turn "
                         "token and the tokenizer no EOS: generation could never stop before max_new_tokens")
    return ids


class BackendBase:
    """Shared by the Transformers and vLLM backends: rendering, cache keys, dedup, order, post-processing."""

    tok = None
    template = None
    checkpoint_id: str = ""
    cache: GenerationCache
    progress: bool = False

    def prompt(self, conversation: list[dict]) -> str:
        return self.template.render_chat(self.tok, conversation)

    def key(self, prompt: str, cfg: GenerationConfig, add_special_tokens: bool | None = None) -> str:
        parts = [self.checkpoint_id, self.template.name, prompt, cfg.key_fields()]
        if add_special_tokens is not None and add_special_tokens != self.template.prompt_special_tokens:
            parts.append({"add_special_tokens": add_special_tokens})
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()

    def generate(self, conversations: Sequence[list[dict]], cfg: GenerationConfig = GenerationConfig()
                 ) -> list[Completion]:
        """Assistant replies to chat conversations ({role, content} lists), in input order, text stripped."""
        out = self.generate_text([self.prompt(c) for c in conversations], cfg)
        return [Completion(c.text.strip(), c.n_tokens, c.finish_reason, c.logprobs) for c in out]

    def generate_text(self, prompts: Sequence[str], cfg: GenerationConfig = GenerationConfig(),
                      add_special_tokens: bool | None = None) -> list[Completion]:
        """Continuations of already-rendered prompts (text not stripped), in input order.
        ``add_special_tokens`` defaults to the template's rule (BOS unless the text carries its specials)."""
        special = self.template.prompt_special_tokens if add_special_tokens is None else add_special_tokens
        keys = [self.key(p, cfg, add_special_tokens) for p in prompts]
        todo: dict[str, str] = {}
        for k, p in zip(keys, prompts):
            if k not in todo and self.cache.get(k) is None:
                todo[k] = p
        done = self._run(todo, cfg, special) if todo else {}
        return [done.get(k) or self.cache.get(k) for k in keys]

    def _run(self, todo: dict[str, str], cfg: GenerationConfig, special: bool) -> dict[str, Completion]:
        raise NotImplementedError

    def _finish(self, ids: list[int], cfg: GenerationConfig, stopped: bool, logprobs: list[dict] | None
                ) -> Completion:
        """Text of the generated ids (end-of-turn excluded), cut at the first stop string if any."""
        text = self.tok.decode(ids, skip_special_tokens=True)
        hits = [(i, s) for i, s in ((text.find(s), s) for s in cfg.stop) if i >= 0]
        if hits:
            cut, s = min(hits, key=lambda h: (h[0], -len(h[1])))
            need = cut + len(s)  # keep the fewest tokens whose text covers the stop string (it was generated)
            lo, hi = 1, len(ids)
            while lo < hi:
                mid = (lo + hi) // 2
                if len(self.tok.decode(ids[:mid], skip_special_tokens=True)) >= need:
                    hi = mid
                else:
                    lo = mid + 1
            text, stopped, ids = text[:cut], True, ids[:lo]
            logprobs = logprobs[:lo] if logprobs is not None else None
        return Completion(text, len(ids), "stop" if stopped else "length", logprobs)
