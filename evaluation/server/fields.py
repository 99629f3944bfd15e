"""The request side of the server: ``BadRequest`` (a 400 that names the offending field, OpenAI's ``param``)
and the parsing and validation of request fields, down to the ``GenerationConfig`` a request asks for
(OpenAI semantics: temperature 1 and no top-k by default, n=1, no streaming, at most four stop strings).
The server's ``Limits`` bound ``max_tokens`` (always, whatever the model's context) and the prompts per
request. Kept apart from the HTTP handler so every rule about what a client may send is in one place.
"""
from __future__ import annotations

from ..generation import GenerationConfig
from .limits import Limits

MAX_STOP = 4


class BadRequest(ValueError):
    """A 400 naming the offending field (OpenAI's ``param``)."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


def get_field(body: dict, name: str, kind, default=None, required=False):
    if name not in body or body[name] is None:
        if required:
            raise BadRequest(f"missing required field {name!r}", name)
        return default
    value = body[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequest(f"field {name!r} must be {'a number' if kind is float else kind.__name__}, got {value!r:.80}",
                         name)
    return value


def field_in_range(body: dict, name: str, kind, default, lo, hi):
    value = get_field(body, name, kind, default)
    if value is not None and not lo <= value <= hi:
        raise BadRequest(f"field {name!r} must be in [{lo}, {hi}], got {value}", name)
    return value


def message_content(value, i: int) -> str:
    """A message's content: a string, or a list of text parts (newer OpenAI clients)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                       and isinstance(p.get("text"), str) for p in value):
        return "".join(p["text"] for p in value)
    raise BadRequest(f"field 'messages[{i}].content' must be a string or a list of text parts", f"messages[{i}]")


def prompt_count(prompts: list, field: str, limits: Limits) -> None:
    """The prompts of one request are bounded: a larger batch is split over several requests."""
    if len(prompts) > limits.max_prompts:
        raise BadRequest(f"field {field!r} has {len(prompts)} prompts; this server accepts at most "
                         f"{limits.max_prompts} per request", field)


def generation_config(body: dict, logprobs: int | None, limits: Limits):
    if body.get("stream"):
        raise BadRequest("field 'stream': streaming is not supported by this server", "stream")
    if get_field(body, "n", int, 1) != 1:
        raise BadRequest("field 'n' must be 1: one choice per request", "n")
    max_tokens = get_field(body, "max_tokens", int, None)
    if max_tokens is None:
        max_tokens = get_field(body, "max_completion_tokens", int, min(256, limits.max_tokens))
    if not 1 <= max_tokens <= limits.max_tokens:
        raise BadRequest(f"field 'max_tokens' must be in [1, {limits.max_tokens}] on this server, got {max_tokens}",
                         "max_tokens")
    stop = body.get("stop")
    stop = [stop] if isinstance(stop, str) else (stop or [])
    if not isinstance(stop, list) or len(stop) > MAX_STOP or not all(isinstance(s, str) and s for s in stop):
        raise BadRequest(f"field 'stop' must be a non-empty string or a list of up to {MAX_STOP} of them", "stop")
    top_p = get_field(body, "top_p", float, 1.0)
    if not 0 < top_p <= 1:
        raise BadRequest(f"field 'top_p' must be in (0, 1], got {top_p}", "top_p")
    # OpenAI defaults: temperature 1 (sampling); the seed defaults to 0 so a repeated request repeats its answer
    temperature = field_in_range(body, "temperature", float, 1.0, 0, 2)
    return GenerationConfig(max_new_tokens=max_tokens, temperature=temperature,
                            top_p=top_p, seed=get_field(body, "seed", int, 0),
                            batch_size=limits.batch_size, top_k=0, stop=tuple(stop), logprobs=logprobs)
