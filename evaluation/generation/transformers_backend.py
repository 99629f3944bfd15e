"""The default backend: ``Generator``, batched generation with a Transformers model already in memory
(prompts tokenized once and sorted longest first, left-padded, KV-cached, seeded per batch in a forked RNG,
optional bf16 autocast on CPU), and ``_LogprobRecorder``, the logits processor that records the top-k
logprobs of the raw distribution one step at a time. Torch and Transformers are imported inside the methods,
so importing the generation layer stays cheap.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mosaic.data.templates import get_template
from mosaic.hardware import bf16_supported
from mosaic.progress import CountProgress

from .base import BackendBase, end_of_turn_ids
from .cache import GenerationCache
from .config import Completion, GenerationConfig


class Generator(BackendBase):
    """Batched generation with a Transformers model already in memory.

    ``checkpoint_id``: ``checkpoint_hash(model_dir)`` for a saved model, any stable id for an in-memory one.
    ``bf16``: autocast on CPU; None = when the CPU supports it (``mosaic.hardware.bf16_supported``).
    ``use_cache=False`` keeps nothing (a long-lived server); duplicates within one call are still shared.
    """

    def __init__(self, model, tokenizer, template: str, checkpoint_id: str, cache_path: str | Path | None = None,
                 bf16: bool | None = None, progress: bool = True, use_cache: bool = True):
        self.model, self.tok, self.template = model.eval(), tokenizer, get_template(template)
        self.checkpoint_id, self.progress = checkpoint_id, progress
        on_cpu = self.model.device.type == "cpu"
        if bf16 is None:
            bf16 = bf16_supported()
        self.bf16 = bool(bf16) and on_cpu
        self.cache = GenerationCache(cache_path, memory=use_cache)
        self.model_calls = 0  # batches actually generated (tests count cache hits by it)
        self.stop_ids = end_of_turn_ids(self.tok, self.template)
        # left-padded positions are masked out, so the pad id only has to be a valid token (Llama-2 has none)
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.stop_ids[-1]

    def _run(self, todo: dict[str, str], cfg: GenerationConfig, special: bool) -> dict[str, Completion]:
        keys = list(todo)
        encoded = self.tok([todo[k] for k in keys], add_special_tokens=special)["input_ids"]
        ids = dict(zip(keys, encoded))
        order = sorted(keys, key=lambda k: -len(ids[k]))
        done: dict[str, Completion] = {}
        progress = CountProgress(len(order), "generate", "prompt", enabled=self.progress)
        for i in range(0, len(order), cfg.batch_size):
            batch = order[i:i + cfg.batch_size]
            results = list(zip(batch, self._generate([ids[k] for k in batch], cfg)))
            self.cache.put(results)
            done.update(results)
            progress.update(len(batch))
        return done

    def pad(self, batch: list[list[int]]):
        """Left-padded input ids and attention mask: every row's last prompt token sits in the last column,
        so all rows start generating at the same step."""
        import torch

        width = max(len(x) for x in batch)
        input_ids = torch.tensor([[self.pad_id] * (width - len(x)) + x for x in batch], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch], device=self.model.device)
        return input_ids, mask

    def _generate(self, batch: list[list[int]], cfg: GenerationConfig) -> list[Completion]:
        import torch

        self.model_calls += 1
        input_ids, mask = self.pad(batch)
        width = input_ids.shape[1]
        if cfg.temperature > 0:
            sampling = dict(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k)
        else:
            sampling = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
        extra = {}
        recorder = None
        if cfg.logprobs is not None:
            from transformers import LogitsProcessorList

            recorder = _LogprobRecorder(max(cfg.logprobs, 1))
            extra["logits_processor"] = LogitsProcessorList([recorder])
        if cfg.stop:
            extra.update(stop_strings=list(cfg.stop), tokenizer=self.tok)
        # seeded by the batch's prompts, not its keys: asking for logprobs or stop strings samples the same text
        seed = int(hashlib.sha256(json.dumps([cfg.seed, batch]).encode()).hexdigest()[:8], 16)
        # logprob requests run in fp32: bf16 logits are quantised to ~0.1 nats, too coarse for a logprob judge
        with torch.random.fork_rng(devices=[]), torch.no_grad(), \
                torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16 and cfg.logprobs is None):
            torch.manual_seed(seed)
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=cfg.max_new_tokens,
                                      eos_token_id=self.stop_ids, pad_token_id=self.pad_id, use_cache=True,
                                      **sampling, **extra)
        new = out[:, width:]
        per_row = recorder.finish(new) if recorder is not None else None
        results = []
        for r, row in enumerate(new.tolist()):
            stop = next((i for i, t in enumerate(row) if t in self.stop_ids), None)
            tokens = row[:stop] if stop is not None else row
            lps = None
            if per_row is not None:
                lps = [self._logprob_entry(tid, lp, top, cfg.logprobs)
                       for tid, (lp, top) in zip(tokens, per_row[r])]
            results.append(self._finish(tokens, cfg, stop is not None, lps))
        return results

    def _logprob_entry(self, tid: int, lp: float, top: list[tuple[int, float]], k: int) -> dict:
        return {"id": tid, "token": self.tok.decode([tid]), "logprob": lp,
                "top": [{"id": j, "token": self.tok.decode([j]), "logprob": v} for j, v in top[:k]]}


class _LogprobRecorder:
    """A logits processor that leaves scores unchanged and records, per step, the top-k log-probabilities
    of the raw distribution (it runs before temperature/top-p warpers). The chosen token is only known at
    the next step (the last id of ``input_ids``), so one log-softmax row per sequence is kept at a time."""

    def __init__(self, k: int):
        self.k = k
        self.prev = None  # [B, V] log-probs of the previous step
        self.chosen: list = []  # per step [B] logprob of the token that was chosen
        self.top: list = []  # per step ([B, k] values, [B, k] ids)

    def __call__(self, input_ids, scores):
        import torch

        if self.prev is not None:
            self.chosen.append(self.prev.gather(1, input_ids[:, -1:]).squeeze(1))
        lp = torch.log_softmax(scores.float(), dim=-1)
        values, indices = torch.topk(lp, min(self.k, lp.shape[-1]), dim=-1)
        self.top.append((values, indices))
        self.prev = lp
        return scores

    def finish(self, new) -> list[list[tuple[float, list[tuple[int, float]]]]]:
        """Per row, per generated step: (logprob of the chosen token, [(id, logprob)] top-k)."""
        if self.prev is not None and len(self.chosen) < new.shape[1]:
            self.chosen.append(self.prev.gather(1, new[:, -1:]).squeeze(1))
        rows = []
        for b in range(new.shape[0]):
            rows.append([(float(self.chosen[s][b]), list(zip(self.top[s][1][b].tolist(), self.top[s][0][b].tolist())))
                         for s in range(new.shape[1])])
        return rows
