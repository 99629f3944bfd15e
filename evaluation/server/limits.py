"""``Limits``: every bound the server puts on a client (request size and time, prompts per request, new
tokens, listen backlog, prompts per model call), in one place so the command line, the HTTP handler and the
request validation agree, and so none of them depends on what a model config happens to declare.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_BODY = 32 << 20  # bytes: the default request size limit


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int = MAX_BODY  # a larger Content-Length is refused (413) before the body is read
    request_timeout: float = 30.0  # seconds for each socket read or write, and for the whole body
    max_prompts: int = 1024  # prompts in one /v1/completions request
    max_tokens: int = 4096  # new tokens per completion, whatever the model's context says
    backlog: int = 128  # connections the kernel queues before the server accepts them
    batch_size: int = 8  # prompts per model call; the model is released to other requests between calls

    def __post_init__(self):
        for name in ("max_request_bytes", "max_prompts", "max_tokens", "backlog", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be >= 1, got {getattr(self, name)}")
        if not self.request_timeout > 0:
            raise ValueError(f"Limits.request_timeout must be > 0, got {self.request_timeout}")
