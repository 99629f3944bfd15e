"""What a generation request asks for and what it returns: ``GenerationConfig`` (validated sampling, length,
stop and logprob settings, and the subset of them that enters a cache key) and ``Completion`` (one generated
text with its token count, finish reason and optional logprobs, convertible to and from a cache row). Kept
apart from the backends so the cache, the server and the judges can use them without any model code.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

MAX_TOP_LOGPROBS = 20


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
    # 50 is what Transformers (and so FastChat's gen_model_answer) samples with by default; 0 disables
    # (OpenAI semantics, used by the server). Only applies when sampling.
    top_k: int = 50
    stop: tuple[str, ...] = ()  # extra stop strings (cut from the text); the end-of-turn token always stops
    logprobs: int | None = None  # None: no logprobs; k >= 0: each generated token's logprob and the top k

    def __post_init__(self):
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        checks = [(self.max_new_tokens >= 1, "max_new_tokens must be >= 1"),
                  (self.temperature >= 0, "temperature must be >= 0"),
                  (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
                  (self.batch_size >= 1, "batch_size must be >= 1"),
                  (self.top_k >= 0, "top_k must be >= 0"),
                  (all(isinstance(s, str) and s for s in self.stop), "stop must be non-empty strings"),
                  (self.logprobs is None or 0 <= self.logprobs <= MAX_TOP_LOGPROBS,
                   f"logprobs must be None or 0..{MAX_TOP_LOGPROBS}")]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"GenerationConfig: {message}")

    def key_fields(self) -> dict:
        """What changes the generated text. batch_size does not (up to float noise); fields added after the
        first caches were written enter the key only when set away from their default, so old caches stay valid."""
        d = asdict(self)
        d.pop("batch_size")
        for name, default in (("top_k", 50), ("stop", ()), ("logprobs", None)):
            if d[name] == default:
                d.pop(name)
        if "stop" in d:
            d["stop"] = list(d["stop"])
        return d


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (end-of-turn token or a stop string) or "length"
    # with GenerationConfig.logprobs, per generated token:
    # {"id", "token", "logprob", "top": [{"id", "token", "logprob"}, ...]}
    logprobs: list[dict] | None = field(default=None)

    def to_row(self) -> dict:
        row = asdict(self)
        if row["logprobs"] is None:
            row.pop("logprobs")
        return row

    @classmethod
    def from_row(cls, row: dict) -> "Completion":
        return cls(row["text"], row["n_tokens"], row["finish_reason"], row.get("logprobs"))
