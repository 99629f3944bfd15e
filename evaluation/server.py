"""A small OpenAI-compatible server over a local Transformers model, so a checkpoint or a judge can be
reached by anything that speaks the OpenAI API (alpaca_eval's ``openai_completions``, FastChat, our
``OpenAIJudge``) without vLLM.

    python -m evaluation.server --model smollm2|<dir> --template chat_template --served-name NAME --port 0

Endpoints: ``GET /health`` (no auth: liveness only), ``GET /v1/models``, ``POST /v1/chat/completions``
(messages, max_tokens, temperature, top_p, seed, n=1, stop, logprobs, top_logprobs) and
``POST /v1/completions`` (prompt string or list, max_tokens, temperature, top_p, seed, stop, logprobs).
No streaming. Binds loopback only unless ``--allow-remote``; with ``--api-key-env NAME`` every /v1
request needs ``Authorization: Bearer <value of $NAME>`` (the key is never printed or logged). Prints
``READY http://HOST:PORT`` on stdout once the model is loaded and the socket listens (``--port 0``
picks a free port). Model calls are serialised by a lock; a list of prompts is generated as one batch.
Sampling uses OpenAI semantics (temperature and top_p only, no top-k); logprobs are those of the raw
model distribution. ``serve()`` runs it as a subprocess for tests and scripts.
"""
from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

MAX_BODY = 32 << 20  # bytes
MAX_STOP = 4


class BadRequest(ValueError):
    """A 400 naming the offending field (OpenAI's ``param``)."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Backend:
    """The model, its tokenizer and template behind the server; one generation at a time."""

    def __init__(self, model: str, template: str, name: str, bf16: bool | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from .generation import Generator

        if model == "smollm2":
            from mosaic.models.smollm2 import model_dir
            from mosaic.models.tokenizer import load_tokenizer

            path, tok = model_dir(), load_tokenizer("smollm2")
        else:
            path = Path(model)
            if not path.is_dir():
                raise SystemExit(f"--model {model}: not a directory (and not 'smollm2')")
            tok = AutoTokenizer.from_pretrained(path)
        net = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        self.generator = Generator(net, tok, template, checkpoint_id=name, bf16=bf16, progress=False,
                                   use_cache=False)
        self.tok, self.template, self.name = tok, self.generator.template, name
        self.context = getattr(net.config, "max_position_embeddings", None)
        self.lock = threading.Lock()

    def run(self, prompts: list[str], cfg, add_special_tokens: bool, field: str):
        """Completions of rendered prompts and their prompt token counts; 400 if they do not fit the context."""
        with self.lock:  # the tokenizer too: a Rust tokenizer shared across threads can fail "Already borrowed"
            lengths = [len(ids) for ids in self.tok(prompts, add_special_tokens=add_special_tokens)["input_ids"]]
            if self.context:
                worst = max(lengths)
                if worst >= self.context:
                    raise BadRequest(f"the prompt has {worst} tokens; this model's context is {self.context}", field)
                if worst + cfg.max_new_tokens > self.context:
                    raise BadRequest(f"this model's maximum context length is {self.context} tokens, but {worst} "
                                     f"prompt + {cfg.max_new_tokens} max_tokens were requested", "max_tokens")
            out = self.generator.generate_text(prompts, cfg, add_special_tokens=add_special_tokens)
        return out, lengths


# ---------------------------------------------------------------- request fields


def _get(body: dict, name: str, kind, default=None, required=False):
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


def _in_range(body: dict, name: str, kind, default, lo, hi):
    value = _get(body, name, kind, default)
    if value is not None and not lo <= value <= hi:
        raise BadRequest(f"field {name!r} must be in [{lo}, {hi}], got {value}", name)
    return value


def _content(value, i: int) -> str:
    """A message's content: a string, or a list of text parts (newer OpenAI clients)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                       and isinstance(p.get("text"), str) for p in value):
        return "".join(p["text"] for p in value)
    raise BadRequest(f"field 'messages[{i}].content' must be a string or a list of text parts", f"messages[{i}]")


def _config(body: dict, logprobs: int | None):
    from .generation import GenerationConfig

    if body.get("stream"):
        raise BadRequest("field 'stream': streaming is not supported by this server", "stream")
    if _get(body, "n", int, 1) != 1:
        raise BadRequest("field 'n' must be 1: one choice per request", "n")
    max_tokens = _get(body, "max_tokens", int, None)
    if max_tokens is None:
        max_tokens = _get(body, "max_completion_tokens", int, 256)
    if max_tokens < 1:
        raise BadRequest("field 'max_tokens' must be >= 1", "max_tokens")
    stop = body.get("stop")
    stop = [stop] if isinstance(stop, str) else (stop or [])
    if not isinstance(stop, list) or len(stop) > MAX_STOP or not all(isinstance(s, str) and s for s in stop):
        raise BadRequest(f"field 'stop' must be a non-empty string or a list of up to {MAX_STOP} of them", "stop")
    top_p = _get(body, "top_p", float, 1.0)
    if not 0 < top_p <= 1:
        raise BadRequest(f"field 'top_p' must be in (0, 1], got {top_p}", "top_p")
    # OpenAI defaults: temperature 1 (sampling); the seed defaults to 0 so a repeated request repeats its answer
    return GenerationConfig(max_new_tokens=max_tokens, temperature=_in_range(body, "temperature", float, 1.0, 0, 2),
                            top_p=top_p, seed=_get(body, "seed", int, 0),
                            batch_size=8, top_k=0, stop=tuple(stop), logprobs=logprobs)


def _token_bytes(token: str) -> list[int]:
    return list(token.encode("utf-8"))


# ---------------------------------------------------------------- responses


def chat_completion(backend: Backend, body: dict) -> dict:
    messages = _get(body, "messages", list, required=True)
    if not messages:
        raise BadRequest("field 'messages' must not be empty", "messages")
    clean = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise BadRequest(f"field 'messages[{i}]' must have a role system/user/assistant", f"messages[{i}]")
        clean.append({"role": m["role"], "content": _content(m.get("content"), i)})
    want = _get(body, "logprobs", bool, False)
    top = _in_range(body, "top_logprobs", int, None, 0, 20)
    if top is not None and not want:
        raise BadRequest("field 'top_logprobs' needs 'logprobs': true", "top_logprobs")
    cfg = _config(body, (top or 0) if want else None)
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
    if _get(body, "echo", bool, False):
        raise BadRequest("field 'echo': echoing the prompt is not supported", "echo")
    if _get(body, "best_of", int, 1) != 1:
        raise BadRequest("field 'best_of' must be 1", "best_of")
    if body.get("suffix"):
        raise BadRequest("field 'suffix' is not supported", "suffix")
    k = _in_range(body, "logprobs", int, None, 0, 20)
    cfg = _config(body, k)
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
                model = _get(body, "model", str, backend.name)
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evaluation.server", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2", help="'smollm2' or a Transformers checkpoint directory")
    ap.add_argument("--template", default="chat_template",
                    help="prompt template id (vicuna_v1.1, chat_template, raw): the one the model was trained with")
    ap.add_argument("--served-name", default=None, help="model name clients use (default: the directory name)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0 picks a free port (see the READY line)")
    ap.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    ap.add_argument("--api-key-env", default=None,
                    help="NAME of an environment variable holding the key clients must send")
    ap.add_argument("--no-bf16", action="store_true", help="no bf16 autocast even where the CPU supports it")
    ap.add_argument("--quiet", action="store_true", help="no per-request log lines on stderr")
    args = ap.parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        ap.error(f"--host {args.host} is not a loopback address; pass --allow-remote to serve beyond this machine "
                 "(and consider --api-key-env)")
    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            ap.error(f"--api-key-env {args.api_key_env}: that environment variable is empty or unset")
    from mosaic.data.templates import TEMPLATES

    if args.template not in TEMPLATES:
        ap.error(f"--template {args.template!r}: known templates are {TEMPLATES}")
    name = args.served_name or ("SmolLM2-135M-Instruct" if args.model == "smollm2" else Path(args.model).name)
    backend = Backend(args.model, args.template, name, bf16=False if args.no_bf16 else None)
    cls = _Server6 if ":" in args.host else _Server
    server = cls((args.host.strip("[]"), args.port), make_handler(backend, key, log=not args.quiet))
    signal.signal(signal.SIGTERM, _interrupt)  # serve()'s SIGTERM: close the socket and exit cleanly
    host = f"[{args.host.strip('[]')}]" if ":" in args.host else args.host
    print(f"READY http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextmanager
def serve(model: str, template: str = "chat_template", served_name: str | None = None, *,
          api_key_env: str | None = None, env: dict | None = None, extra: list[str] | None = None,
          timeout: float = 180, log_path: str | Path | None = None) -> Iterator[str]:
    """Run the server as a real subprocess on a free loopback port; yields its base URL (``http://...:PORT/v1``).

    Waits for the READY line at most ``timeout`` seconds (the error carries the server's stderr tail), and on
    exit terminates the whole process group (SIGTERM, then SIGKILL). Server stderr goes to ``log_path``
    (default: a temporary file), so a chatty server can never block on a full pipe.
    """
    cmd = [sys.executable, "-m", "evaluation.server", "--model", str(model), "--template", template,
           "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--served-name", served_name] if served_name else []
    cmd += ["--api-key-env", api_key_env] if api_key_env else []
    cmd += extra or []
    tmp = None
    if log_path is None:
        tmp = tempfile.NamedTemporaryFile(prefix="evaluation-server-", suffix=".log", delete=False)
        log_path = tmp.name
        tmp.close()
    log = open(log_path, "ab")
    root = str(Path(__file__).resolve().parents[1])
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (root, child_env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=child_env,
                            start_new_session=True)
    lines: queue.Queue = queue.Queue()

    def pump():  # keeps draining stdout for the server's lifetime
        for line in iter(proc.stdout.readline, b""):
            lines.put(line.decode("utf-8", "replace"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        url, deadline = None, time.monotonic() + timeout
        while url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:  # stdout closed: the process is exiting; wait for its status
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=60)
                break
            if line.startswith("READY "):
                url = line.split()[1]
        if url is None:
            state = f"exited with {proc.poll()}" if proc.poll() is not None else f"not ready after {timeout:.0f} s"
            raise RuntimeError(f"evaluation.server {state}; stderr ({log_path}):\n{_tail(log_path)}")
        yield url + "/v1"
    finally:
        _stop(proc)
        log.close()
        if tmp is not None:
            try:
                os.unlink(log_path)
            except OSError:
                pass


def _tail(path, n: int = 3000) -> str:
    try:
        return Path(path).read_bytes()[-n:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    if proc.stdout:
        proc.stdout.close()


if __name__ == "__main__":
    main()
