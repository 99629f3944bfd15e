"""Judges: ``openai`` (any OpenAI-compatible endpoint) and ``local`` (an in-process Transformers model).

``make_judge(cfg)`` builds one from the ``judge`` config group (conf/judge/*.yaml); ``cache_dir`` (one
``<kind>.jsonl`` in it) or ``cache_path`` turns on the on-disk judgment cache.
"""
from __future__ import annotations

from pathlib import Path

from .base import Judge, JudgeUnavailable, JudgmentCache, complete_all

KINDS = ("openai", "local")


def make_judge(cfg: dict) -> Judge:
    kind = cfg.get("kind")
    if kind not in KINDS:
        raise ValueError(f"judge.kind must be one of {KINDS}, got {kind!r}")
    cache = cfg.get("cache_path") or (Path(cfg["cache_dir"]) / f"{kind}.jsonl" if cfg.get("cache_dir") else None)
    seed, temperature = int(cfg.get("seed", 0)), float(cfg.get("temperature", 0.0))
    if kind == "openai":
        from .openai_judge import OpenAIJudge

        for key in ("model", "base_url"):
            if not cfg.get(key):
                raise ValueError(f"judge.{key} is required for judge.kind=openai")
        return OpenAIJudge(cfg["model"], cfg["base_url"], api_key_env=cfg.get("api_key_env", "OPENAI_API_KEY"),
                           max_retries=int(cfg.get("max_retries", 5)), backoff=float(cfg.get("backoff", 1.0)),
                           timeout=float(cfg.get("timeout", 60)), cache_path=cache, seed=seed, temperature=temperature)
    from .local import LocalJudge

    return LocalJudge(cfg.get("model", "smollm2"), cfg.get("template", "chat_template"), cache_path=cache, seed=seed,
                      max_tokens=int(cfg.get("max_tokens", 512)), temperature=temperature,
                      batch_size=int(cfg.get("batch_size", 8)))


__all__ = ["complete_all", "Judge", "JudgeUnavailable", "JudgmentCache", "make_judge", "KINDS"]
