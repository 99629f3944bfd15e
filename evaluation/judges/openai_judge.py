"""A judge behind any OpenAI-compatible chat-completions endpoint (GPT-4-class APIs, vLLM, evaluation.server).

The key is read from the environment variable *named* in the config and is never stored, logged,
cached or shown in errors. Connection errors, timeouts, 429 and 5xx are retried with exponential
backoff; after the last attempt ``JudgeUnavailable`` names the URL, model, attempts and last error.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .base import JudgeUnavailable, JudgmentCache


class OpenAIJudge:
    def __init__(self, model: str, base_url: str, api_key_env: str = "OPENAI_API_KEY", max_retries: int = 5,
                 backoff: float = 1.0, timeout: float = 60.0, cache_path: str | Path | None = None, seed: int = 0):
        from openai import OpenAI

        self.model, self.base_url, self.api_key_env = model, base_url.rstrip("/"), api_key_env
        self.max_retries, self.backoff, self.seed = max_retries, backoff, seed
        key = os.environ.get(api_key_env) if api_key_env else None
        # max_retries=0: our own loop retries, so the attempts and the final error are ours to report
        self.client = OpenAI(base_url=self.base_url, api_key=key or "EMPTY", timeout=timeout, max_retries=0)
        self.cache = JudgmentCache(Path(cache_path) if cache_path else None)
        self.calls = 0  # HTTP requests made (tests check the cache by it)

    def identity(self) -> dict:
        return {"kind": "openai", "model": self.model, "base_url": self.base_url, "api_key_env": self.api_key_env,
                "seed": self.seed}

    def complete(self, messages: list[dict], *, max_tokens: int, temperature: float = 0.0) -> str:
        import openai

        key = JudgmentCache.key(self.model, self.base_url, messages, temperature, max_tokens, self.seed)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        last = None
        for attempt in range(1, self.max_retries + 2):
            try:
                self.calls += 1
                r = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                        temperature=temperature, seed=self.seed)
                text = r.choices[0].message.content
                if not isinstance(text, str):
                    raise JudgeUnavailable(f"{self.base_url} ({self.model}) returned no message content")
                self.cache.put(key, text)
                return text
            except (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
                    openai.InternalServerError) as e:
                last = e
            except openai.APIStatusError as e:  # 4xx other than 429: retrying will not help
                raise JudgeUnavailable(f"judge {self.model} at {self.base_url} refused the request: "
                                       f"HTTP {e.status_code}: {_short(e)}") from None
            except (ValueError, KeyError, AttributeError, IndexError, TypeError) as e:  # unparseable response
                last = e
            if attempt <= self.max_retries:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        raise JudgeUnavailable(f"judge {self.model} at {self.base_url} failed after {self.max_retries + 1} attempts; "
                               f"last error: {type(last).__name__}: {_short(last)}")


def _short(e) -> str:
    text = str(e)
    return text[:300] + ("..." if len(text) > 300 else "")
