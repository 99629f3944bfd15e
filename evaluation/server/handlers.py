"""The HTTP side of the server: the two completion endpoints (``chat_completion``, ``text_completion``, each
turning a validated request into OpenAI's response shape with usage and optional logprobs), their ``ROUTES``
and ``make_handler``, the request handler class (bearer-key check, JSON errors in OpenAI's format, a 500
that keeps the server serving, a log line per request that never carries headers or bodies).
"""
from __future__ import annotations

import json
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler

from .backend import Backend
from .fields import BadRequest, field_in_range, generation_config, get_field, message_content

MAX_BODY = 32 << 20  # bytes


def _token_bytes(token: str) -> list[int]:
    return list(token.encode("utf-8"))


# ---------------------------------------------------------------- responses


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
    top = field_in_range(body, "top_logprobs", int, None, 0, 20)
    if top is not None and not want:
        raise BadRequest("field 'top_logprobs' needs 'logprobs': true", "top_logprobs")
    cfg = generation_config(body, (top or 0) if want else None)
    try:
        prompt = backend.template.render_chat(backend.tok, clean)
    except ValueError as e:
        raise BadRequest(f"field 'messages': {e}", "messages") from None
    (c,), (n_prompt,) = backend.run([prompt], cfg, backend.template.prompt_special_tokens, "messages")
    logprobs = None
    if want:
        logprobs = {"content": [{"token": t["token"], "logprob": t["logprob"], "bytes": _token_bytes(t["token"]),
                                 "top_logprobs": [{"token": a["token"], "logprob": a["logprob"],
                                                   "bytes": _token_bytes(a["token"])} for a in t["top"]]}
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
    k = field_in_range(body, "logprobs", int, None, 0, 20)
    cfg = generation_config(body, k)
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


def _envelope(backend: Backend, kind: str, choices: list, prompt_tokens: int, completion_tokens: int) -> dict:
    return {"id": f"{'chatcmpl' if kind == 'chat.completion' else 'cmpl'}-{secrets.token_hex(12)}", "object": kind,
            "created": int(time.time()), "model": backend.name, "system_fingerprint": None, "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


ROUTES = {"/v1/chat/completions": chat_completion, "/v1/completions": text_completion}


def make_handler(backend: Backend, api_key: str | None, log: bool = True):
    expected = f"Bearer {api_key}".encode() if api_key else None

    class Handler(BaseHTTPRequestHandler):
        server_version = "mosaic-eval-server"

        def log_message(self, fmt, *args):  # only method, path, status: never headers or bodies
            pass

        def _log(self, status: int, started: float):
            if log:
                sys.stderr.write(f"{self.command} {self.path.split('?')[0]} {status} {time.time() - started:.2f}s\n")

        def _send(self, status: int, payload: dict):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self._log(status, getattr(self, "_started", time.time()))

        def _error(self, status: int, message: str, kind: str = "invalid_request_error", param=None, code=None):
            self._send(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})

        def _authorised(self) -> bool:
            if expected is None:
                return True
            given = self.headers.get("Authorization", "").encode("utf-8", "replace")
            if secrets.compare_digest(given, expected):
                return True
            self._error(401, "missing or wrong API key (send 'Authorization: Bearer <key>')", "authentication_error",
                        code="invalid_api_key")
            return False

        def _path(self) -> str:
            return self.path.split("?")[0].rstrip("/") or "/"

        def do_GET(self):
            self._started = time.time()
            path = self._path()
            if path == "/health":
                return self._send(200, {"status": "ok", "model": backend.name})
            if not self._authorised():
                return
            if path == "/v1/models":
                return self._send(200, {"object": "list", "data": [
                    {"id": backend.name, "object": "model", "created": 0, "owned_by": "mosaic-it"}]})
            if path in ROUTES:
                return self._error(405, f"{path} needs POST", code="method_not_allowed")
            self._error(404, f"unknown path {path}", "not_found_error", code="not_found")

        def do_POST(self):
            self._started = time.time()
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return self._error(400, "invalid Content-Length header")
            if length > MAX_BODY:
                return self._error(413, f"request body over {MAX_BODY} bytes")
            raw = self.rfile.read(length) if length else b""  # always read: the connection stays consistent
            if not self._authorised():
                return
            path = self._path()
            if path not in ROUTES:
                return self._error(404, f"unknown path {path}", "not_found_error", code="not_found")
            try:
                try:
                    body = json.loads(raw or b"null")
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    raise BadRequest(f"the request body is not valid JSON: {e}") from None
                if not isinstance(body, dict):
                    raise BadRequest("the request body must be a JSON object")
                model = get_field(body, "model", str, backend.name)
                if model != backend.name:
                    return self._error(404, f"unknown model {model!r}; this server serves {backend.name!r}",
                                       "not_found_error", param="model", code="model_not_found")
                self._send(200, ROUTES[path](backend, body))
            except BadRequest as e:
                self._error(400, str(e), param=e.param)
            except Exception as e:  # a bug or a model failure: a JSON 500, and the server keeps serving
                sys.stderr.write(f"internal error on {path}: {type(e).__name__}: {e}\n")
                self._error(500, f"internal error: {type(e).__name__}: {e}", "server_error")

        def _not_allowed(self):
            self._started = time.time()
            self._error(405, f"method {self.command} is not supported", code="method_not_allowed")

        do_PUT = do_DELETE = do_PATCH = _not_allowed

    return Handler
