"""A judge behind any OpenAI-compatible chat-completions endpoint (GPT-4-class APIs, vLLM, evaluation.server).

The key is read from the environment variable *named* by ``api_key_env`` and is never stored, logged,
cached, put in ``identity()`` or shown in errors (any echo of it in a server message is redacted).
Connection errors, timeouts, 408/409/429, 5xx and unparseable responses are retried with exponential
backoff (honouring Retry-After, capped at ``max_backoff``); other 4xx fail at once, since repeating the
request cannot help. After the last attempt ``JudgeUnavailable`` names the URL, model, attempts and the
last error. Judgments are cached on disk by (model, base_url, messages, temperature, max_tokens, seed).

``complete_many`` keeps up to ``concurrency`` requests in flight (a thread pool: the client is blocking) and
returns the texts in input order; the cache key does not depend on it. When one request fails for good, no
new request starts, those in flight finish and are cached, and the first failure in input order is raised,
so a rerun pays only for what is missing. Token counts come from each response's ``usage`` field, summed
in ``self.usage``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .base import JudgeUnavailable, JudgmentCache, run_bounded, uncached
from .usage import UsageMeter, price_for, response_usage

RETRY_STATUS = (408, 409, 429)


class OpenAIJudge:
    def __init__(self, model: str, base_url: str, *, api_key_env: str | None, max_retries: int, backoff: float,
                 timeout: float, cache_path: str | Path | None = None, seed: int = 0, temperature: float = 0.0,
                 max_backoff: float = 60.0, concurrency: int = 8, price_per_million: dict | None = None):
        from openai import OpenAI

        if max_retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("OpenAIJudge: max_retries and backoff must be >= 0 and timeout > 0")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"judge.concurrency must be an integer >= 1 (requests in flight), got {concurrency!r}")
        self.model, self.base_url, self.api_key_env = model, base_url.rstrip("/"), api_key_env or None
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.seed, self.temperature = seed, temperature
        self._key = os.environ.get(self.api_key_env) if self.api_key_env else None
        # max_retries=0: our own loop retries, so the attempts and the final error are ours to report
        self.client = OpenAI(base_url=self.base_url, api_key=self._key or "EMPTY", timeout=timeout, max_retries=0)
        self.cache = JudgmentCache(cache_path)
        self.concurrency = concurrency
        self.price = price_for(model, price_per_million)
        self.usage = UsageMeter()
        self._fetched: set[str] = set()  # keys paid for by this judge: a later hit on one is no saving

    @property
    def calls(self) -> int:
        """HTTP requests made, retries included (tests check the cache by it)."""
        return self.usage.snapshot().calls

    def __repr__(self) -> str:  # never the key
        return f"OpenAIJudge(model={self.model!r}, base_url={self.base_url!r}, api_key_env={self.api_key_env!r})"

    def identity(self) -> dict:
        return {"kind": "openai", "model": self.model, "base_url": self.base_url, "template": None,
                "temperature": self.temperature, "seed": self.seed, "api_key_env": self.api_key_env}

    def cache_key(self, messages: list[dict], max_tokens: int, temperature: float) -> str:
        return JudgmentCache.key(self.model, self.base_url, messages, temperature, max_tokens, self.seed)

    def complete(self, messages: list[dict], *, max_tokens: int, temperature: float | None = None) -> str:
        return self.complete_many([messages], max_tokens=max_tokens, temperature=temperature)[0]

    def complete_many(self, conversations: list[list[dict]], *, max_tokens: int, temperature: float | None = None
                      ) -> list[str]:
        """Every judgment not yet cached, ``concurrency`` requests at a time; texts in input order."""
        temperature = self.temperature if temperature is None else temperature
        keys = [self.cache_key(m, max_tokens, temperature) for m in conversations]
        todo = uncached(keys, self.cache)
        self.usage.add(cached=sum(1 for k in keys if k not in todo and k not in self._fetched))
        run_bounded([lambda k=k, i=i: self._fetch(k, conversations[i], max_tokens, temperature)
                     for k, i in todo.items()], self.concurrency)
        return [self.cache.get(k) for k in keys]

    def _fetch(self, key: str, messages: list[dict], max_tokens: int, temperature: float) -> None:
        """One judgment, retried as the module says, cached on success; ``JudgeUnavailable`` otherwise."""
        import openai

        last, attempts = None, self.max_retries + 1
        for attempt in range(1, attempts + 1):
            wait_s = None
            try:
                self.usage.add(calls=1)
                r = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                        temperature=temperature, seed=self.seed)
                self.usage.add(**response_usage(r))  # tokens are billed even when the answer is unusable
                if not getattr(r, "choices", None):
                    raise ValueError(f"the response has no choices: {r!r:.200}")
                text = r.choices[0].message.content
                if not isinstance(text, str):
                    raise TypeError(f"the response has no message content: {r!r:.200}")
                self.cache.put(key, text)
                self._fetched.add(key)
                return
            except openai.APIStatusError as e:
                if e.status_code not in RETRY_STATUS and e.status_code < 500:
                    hint = ""
                    if e.status_code in (401, 403):
                        state = "set" if self._key else "not set"
                        hint = f" (the key is read from ${self.api_key_env}, which is {state})"
                    raise JudgeUnavailable(f"judge {self.model!r} at {self.base_url} refused the request: HTTP "
                                           f"{e.status_code}{hint}: {self._short(e)}") from None
                last, wait_s = e, _retry_after(e)
            except openai.APIConnectionError as e:  # includes timeouts
                last = e
            except (openai.APIResponseValidationError, ValueError, KeyError, AttributeError, IndexError,
                    TypeError) as e:  # an unparseable or malformed response
                last = e
            if attempt < attempts:
                delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                time.sleep(min(max(delay, wait_s or 0), self.max_backoff))
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
