"""Judges: ``openai`` (any OpenAI-compatible endpoint) and ``local`` (an in-process Transformers model).

``make_judge(cfg)`` builds one from the ``judge`` config group (conf/judge/*.yaml); ``cache_dir`` (one
``<kind>.jsonl`` in it) or ``cache_path`` turns on the on-disk judgment cache. ``concurrency`` (requests in
flight; :data:`DEFAULT_CONCURRENCY` when unset) and ``price_per_million`` change neither the judgments
nor their cache keys. Every judge keeps a running ``usage`` total (:mod:`.usage`).
"""
from __future__ import annotations

from pathlib import Path

from mosaic.settings import JUDGE_FIELDS

from .base import Judge, JudgeUnavailable, JudgmentCache, complete_all
from .local import LocalJudge
from .openai_judge import OpenAIJudge
from .usage import Usage, usage_metrics

KINDS = ("openai", "local")
# an API serves many requests at once; the local judge is one model that batches instead
DEFAULT_CONCURRENCY = {"openai": 8, "local": 1}


def make_judge(cfg: dict, *, device: str = "cpu", precision: str = "fp32") -> Judge:
    kind = cfg.get("kind")
    if kind not in KINDS:
        raise ValueError(f"judge.kind must be one of {KINDS}, got {kind!r}")
    missing = [k for k in JUDGE_FIELDS[kind] if k not in cfg or (cfg[k] is None and k != "api_key_env")]
    if missing:
        raise ValueError(f"judge.{missing[0]} is required for judge.kind={kind} (conf/judge/{kind}.yaml sets it)")
    cache = cfg.get("cache_path") or (Path(cfg["cache_dir"]) / f"{kind}.jsonl" if cfg.get("cache_dir") else None)
    seed, temperature = int(cfg.get("seed", 0)), float(cfg.get("temperature", 0.0))
    extra = {"concurrency": DEFAULT_CONCURRENCY[kind] if cfg.get("concurrency") is None else cfg["concurrency"],
             "price_per_million": cfg.get("price_per_million")}
    if kind == "openai":
        return OpenAIJudge(cfg["model"], cfg["base_url"], api_key_env=cfg["api_key_env"],
                           max_retries=int(cfg["max_retries"]), backoff=float(cfg["backoff"]),
                           timeout=float(cfg["timeout"]), cache_path=cache, seed=seed, temperature=temperature,
                           **extra)

    return LocalJudge(cfg["model"], cfg["template"], cache_path=cache, seed=seed, max_tokens=int(cfg["max_tokens"]),
                      temperature=temperature, batch_size=int(cfg["batch_size"]), device=device, precision=precision,
                      **extra)


__all__ = ["complete_all", "DEFAULT_CONCURRENCY", "Judge", "JudgeUnavailable", "JudgmentCache", "make_judge", "KINDS",
           "Usage", "usage_metrics"]
