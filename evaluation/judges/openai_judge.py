"""A judge behind any OpenAI-compatible chat-completions endpoint (GPT-4-class APIs, vLLM, evaluation.server).

The key is read from the environment variable *named* by ``api_key_env`` and is never stored, logged,
cached, put in ``identity()`` or shown in errors (any echo of it in a server message is redacted).
Connection errors, timeouts, 408/409/429, 5xx and unparseable responses are retried with exponential
backoff (honouring Retry-After, capped at ``max_backoff``); other 4xx fail at once, since repeating the
request cannot help. After the last attempt ``JudgeUnavailable`` names the URL, model, attempts and the
last error. Judgments are cached on disk by (model, base_url, messages, temperature, max_tokens, seed).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .base import JudgeUnavailable, JudgmentCache

RETRY_STATUS = (408, 409, 429)


class OpenAIJudge:
    def __init__(self, model: str, base_url: str, *, api_key_env: str | None, max_retries: int, backoff: float,
                 timeout: float, cache_path: str | Path | None = None, seed: int = 0, temperature: float = 0.0,
                 max_backoff: float = 60.0):
        from openai import OpenAI

        if max_retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("OpenAIJudge: max_retries and backoff must be >= 0 and timeout > 0")
        self.model, self.base_url, self.api_key_env = model, base_url.rstrip("/"), api_key_env or None
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.seed, self.temperature = seed, temperature
        self._key = os.environ.get(self.api_key_env) if self.api_key_env else None
        # max_retries=0: our own loop retries, so the attempts and the final error are ours to report
        self.client = OpenAI(base_url=self.base_url, api_key=self._key or "EMPTY", timeout=timeout, max_retries=0)
        self.cache = JudgmentCache(cache_path)
        self.calls = 0  # HTTP requests made (tests check the cache by it)

    def __repr__(self) -> str:  # never the key
        return f"OpenAIJudge(model={self.model!r}, base_url={self.base_url!r}, api_key_env={self.api_key_env!r})"

    def identity(self) -> dict:
        return {"kind": "openai", "model": self.model, "base_url": self.base_url, "template": None,
                "temperature": self.temperature, "seed": self.seed, "api_key_env": self.api_key_env}

    def cache_key(self, messages: list[dict], max_tokens: int, temperature: float) -> str:
        return JudgmentCache.key(self.model, self.base_url, messages, temperature, max_tokens, self.seed)

    def complete(self, messages: list[dict], *, max_tokens: int, temperature: float | None = None) -> str:
        import openai

        temperature = self.temperature if temperature is None else temperature
        key = self.cache_key(messages, max_tokens, temperature)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        last, attempts = None, self.max_retries + 1
        for attempt in range(1, attempts + 1):
            wait = None
            try:
                self.calls += 1
                r = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                        temperature=temperature, seed=self.seed)
                if not getattr(r, "choices", None):
                    raise ValueError(f"the response has no choices: {r!r:.200}")
                text = r.choices[0].message.content
                if not isinstance(text, str):
                    raise TypeError(f"the response has no message content: {r!r:.200}")
                self.cache.put(key, text)
                return text
            except openai.APIStatusError as e:
                if e.status_code not in RETRY_STATUS and e.status_code < 500:
                    hint = ""
                    if e.status_code in (401, 403):
                        state = "set" if self._key else "not set"
                        hint = f" (the key is read from ${self.api_key_env}, which is {state})"
                    raise JudgeUnavailable(f"judge {self.model!r} at {self.base_url} refused the request: HTTP "
                                           f"{e.status_code}{hint}: {self._short(e)}") from None
                last, wait = e, _retry_after(e)
            except openai.APIConnectionError as e:  # includes timeouts
                last = e
            except (openai.APIResponseValidationError, ValueError, KeyError, AttributeError, IndexError,
                    TypeError) as e:  # an unparseable or malformed response
                last = e
            if attempt < attempts:
                delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                time.sleep(min(max(delay, wait or 0), self.max_backoff))
        what = "" if isinstance(last, openai.APIError) else " (malformed response)"
        raise JudgeUnavailable(f"judge {self.model!r} at {self.base_url} failed after {attempts} attempts; last error"
                               f"{what}: {type(last).__name__}: {self._short(last)}")

    def _short(self, e) -> str:
        text = str(e)
        body = getattr(getattr(e, "response", None), "text", None)
        if isinstance(body, str) and body.strip() and body.strip()[:100] not in text:
            text += f" - {body.strip()[:200]}"
        if isinstance(e, Exception) and e.__cause__ is not None and str(e.__cause__) not in text:
            text += f" ({type(e.__cause__).__name__}: {e.__cause__})"
        if self._key:
            text = text.replace(self._key, "***")
        return text[:400] + ("..." if len(text) > 400 else "")


def _retry_after(e) -> float | None:
    try:
        value = e.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
