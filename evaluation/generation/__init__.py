"""One generation layer for every adapter, the server and the local judge: batched, left-padded,
KV-cached, the run's pinned template, stop on the end-of-turn token, with an on-disk cache so a re-run
does not regenerate.

* Prompts are tokenized once and sorted by token length (longest first) before batching, so a batch
  carries little padding and an out-of-memory shows up in the first batch; results come back in input
  order. Duplicate prompts are generated once.
* Generation stops on the token training appends after every answer (``end_of_turn_ids``: the first
  special token of the template's encoded response, see ``mosaic.train.features``) and on EOS.
* The cache key is (checkpoint hash, template, rendered prompt, generation config). The cache is a JSONL
  appended one batch at a time with a single ``write`` and ``fsync``; a torn last line (a killed run) is
  skipped on load and closed before the next append, so a killed run leaves a readable cache.
  Precision is not in the key: the cache lives in one run's directory, whose precision is fixed.
* Sampling is seeded per batch from (seed, the batch's prompt tokens) in a forked RNG, so the same request
  in the same batch gives the same text and the global RNG is untouched.
* Optional top-k logprobs of the generated tokens (raw model distribution, before temperature/top-p),
  recorded step by step so memory stays at one vocabulary row per sequence, computed in fp32 (bf16
  logits are too coarse for logprob-weighted judges).
* bf16 autocast (CPUs that support it) is about 2x faster but makes greedy text depend slightly on the
  batch composition (rounding); fp32 greedy text is batch-invariant.

An optional vLLM backend (GPU machines) has the same interface.

Modules: ``config`` (GenerationConfig, Completion), ``cache`` (JsonlStore, GenerationCache), ``base``
(end_of_turn_ids and what both backends share), ``transformers_backend`` (Generator), ``vllm_backend``
(VLLMGenerator). The public names are re-exported here.
"""
from __future__ import annotations

from mosaic.stages import checkpoint_hash  # one definition; re-exported for adapters

from .base import BackendBase, end_of_turn_ids
from .cache import GenerationCache, JsonlStore
from .config import MAX_TOP_LOGPROBS, Completion, GenerationConfig
from .transformers_backend import Generator
from .vllm_backend import VLLMGenerator

__all__ = ["MAX_TOP_LOGPROBS", "BackendBase", "Completion", "GenerationCache", "GenerationConfig", "Generator",
           "JsonlStore", "VLLMGenerator", "checkpoint_hash", "end_of_turn_ids"]
