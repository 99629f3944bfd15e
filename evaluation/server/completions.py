"""The two completion endpoints and their ``ROUTES``: ``chat_completion`` and ``text_completion`` each turn a
validated request into OpenAI's response shape, with usage and optional logprobs (chat: ``logprobs`` and
``top_logprobs`` 0..20 in the ``choices[i].logprobs.content`` layout; text: the legacy ``logprobs: k``
layout). The HTTP handling around them is in ``evaluation.server.handlers``.
"""
from __future__ import annotations

import secrets
import time

from ..generation import MAX_TOP_LOGPROBS
from .backend import Backend
from .fields import BadRequest, field_in_range, generation_config, get_field, message_content, prompt_count


def chat_completion(backend: Backend, body: dict) -> dict:
    messages = get_field(body, "messages", list, required=True)
    if not messages:
        raise BadRequest("field 'messages' must not be empty", "messages")
    clean = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise BadRequest(f"field 'messages[{i}]' must have a role system/user/assistant", f"messages[{i}]")
        clean.append({"role": m["role"], "content": message_content(m.get("content"), i)})
    want = get_field(body, "logprobs", bool, False)
    top = field_in_range(body, "top_logprobs", int, None, 0, MAX_TOP_LOGPROBS)
    if top is not None and not want:
        raise BadRequest("field 'top_logprobs' needs 'logprobs': true", "top_logprobs")
    cfg = generation_config(body, (top or 0) if want else None, backend.limits)
    try:
        prompt = backend.template.render_chat(backend.tok, clean)
    except ValueError as e:
        raise BadRequest(f"field 'messages': {e}", "messages") from None
    (c,), (n_prompt,) = backend.run([prompt], cfg, backend.template.prompt_special_tokens, "messages")
    logprobs = None
    if want:  # OpenAI's layout; the values are the model's own (raw) log-probabilities, see Backend.run
        logprobs = {"content": [{**_token(t), "top_logprobs": [_token(a) for a in t["top"]]}
                                for t in c.logprobs or []], "refusal": None}
    choice = {"index": 0, "message": {"role": "assistant", "content": c.text.strip()}, "logprobs": logprobs,
              "finish_reason": c.finish_reason}
    return _envelope(backend, "chat.completion", [choice], n_prompt, c.n_tokens)


def text_completion(backend: Backend, body: dict) -> dict:
    prompt = body.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise BadRequest("field 'prompt' must be a string or a non-empty list of strings", "prompt")
    if get_field(body, "echo", bool, False):
        raise BadRequest("field 'echo': echoing the prompt is not supported", "echo")
    if get_field(body, "best_of", int, 1) != 1:
        raise BadRequest("field 'best_of' must be 1", "best_of")
    if body.get("suffix"):
        raise BadRequest("field 'suffix' is not supported", "suffix")
    prompt_count(prompts, "prompt", backend.limits)
    k = field_in_range(body, "logprobs", int, None, 0, MAX_TOP_LOGPROBS)
    cfg = generation_config(body, k, backend.limits)
    outs, lengths = backend.run(prompts, cfg, True, "prompt")
    choices = []
    for i, (p, c) in enumerate(zip(prompts, outs)):
        lp = None
        if k is not None:
            tokens = [t["token"] for t in c.logprobs or []]
            offsets, at = [], len(p)
            for t in tokens:
                offsets.append(at)
                at += len(t)
            lp = {"tokens": tokens, "token_logprobs": [t["logprob"] for t in c.logprobs or []],
                  "top_logprobs": [{a["token"]: a["logprob"] for a in t["top"]} for t in c.logprobs or []],
                  "text_offset": offsets}
        choices.append({"index": i, "text": c.text, "logprobs": lp, "finish_reason": c.finish_reason})
    return _envelope(backend, "text_completion", choices, sum(lengths), sum(c.n_tokens for c in outs))


def _token(t: dict) -> dict:
    return {"token": t["token"], "logprob": t["logprob"], "bytes": t["bytes"]}


def _envelope(backend: Backend, kind: str, choices: list, prompt_tokens: int, completion_tokens: int) -> dict:
    return {"id": f"{'chatcmpl' if kind == 'chat.completion' else 'cmpl'}-{secrets.token_hex(12)}", "object": kind,
            "created": int(time.time()), "model": backend.name, "system_fingerprint": None, "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


ROUTES = {"/v1/chat/completions": chat_completion, "/v1/completions": text_completion}
