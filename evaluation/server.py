"""A small OpenAI-compatible server over a local Transformers model, for serving a checkpoint or a judge.

    python -m evaluation.server --model smollm2|<dir> --template chat_template --served-name NAME --port 0

Endpoints: ``GET /health``, ``GET /v1/models``, ``POST /v1/chat/completions`` (messages, max_tokens,
temperature, top_p, seed, logprobs, top_logprobs) and ``POST /v1/completions`` (prompt, max_tokens,
temperature, logprobs). Binds 127.0.0.1 unless ``--allow-remote``; with ``--api-key-env NAME`` requests
need ``Authorization: Bearer $NAME``. Prints ``READY http://HOST:PORT`` once listening (port 0 picks a
free one). Requests are served one model call at a time.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BadRequest(ValueError):
    pass


class Backend:
    def __init__(self, model: str, template: str, name: str):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from mosaic.data.templates import get_template
        from mosaic.runner import bf16_supported

        if model == "smollm2":
            from mosaic.models.smollm2 import model_dir
            from mosaic.models.tokenizer import load_tokenizer

            path, self.tok = model_dir(), load_tokenizer("smollm2")
        else:
            path = Path(model)
            self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        self.template, self.name, self.bf16 = get_template(template), name, bf16_supported()
        self.lock = threading.Lock()

    @torch.no_grad()
    def complete(self, text: str, max_tokens: int, temperature: float, top_p: float, seed: int, top_logprobs: int,
                 special_tokens: bool) -> dict:
        enc = self.tok(text, return_tensors="pt", add_special_tokens=special_tokens)
        kwargs = dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else \
            dict(do_sample=False, temperature=None, top_p=None, top_k=None)
        with self.lock:
            torch.manual_seed(seed)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                out = self.model.generate(**enc, max_new_tokens=max_tokens, eos_token_id=self.tok.eos_token_id,
                                          pad_token_id=self.tok.pad_token_id, output_scores=True,
                                          return_dict_in_generate=True, **kwargs)
        new = out.sequences[0, enc["input_ids"].shape[1]:].tolist()
        stop = next((i for i, t in enumerate(new) if t == self.tok.eos_token_id), None)
        kept = new[:stop] if stop is not None else new
        logprobs = []
        for i, tid in enumerate(kept):
            lp = torch.log_softmax(out.scores[i][0].float(), -1)
            top = torch.topk(lp, max(1, top_logprobs))
            logprobs.append({"token": self.tok.decode([tid]), "logprob": float(lp[tid]),
                             "top_logprobs": [{"token": self.tok.decode([int(j)]), "logprob": float(v)}
                                              for v, j in zip(top.values, top.indices)][:top_logprobs]})
        return {"text": self.tok.decode(kept, skip_special_tokens=True).strip(), "finish_reason":
                "stop" if stop is not None else "length", "prompt_tokens": enc["input_ids"].shape[1],
                "completion_tokens": len(kept), "logprobs": logprobs}


def _field(body: dict, name: str, kind, default=None, required=False):
    if name not in body or body[name] is None:
        if required:
            raise BadRequest(f"missing required field {name!r}")
        return default
    value = body[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise BadRequest(f"field {name!r} must be {kind.__name__}")
    return value


def make_handler(backend: Backend, api_key: str | None):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # requests are not logged: they may carry prompts and headers
            pass

        def _send(self, status: int, payload: dict):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str = "invalid_request_error"):
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def _authorised(self) -> bool:
            if api_key is None:
                return True
            if secrets.compare_digest(self.headers.get("Authorization", ""), f"Bearer {api_key}"):
                return True
            self._error(401, "missing or wrong API key", "authentication_error")
            return False

        def do_GET(self):
            if self.path == "/health":
                return self._send(200, {"status": "ok"})
            if not self._authorised():
                return
            if self.path == "/v1/models":
                return self._send(200, {"object": "list", "data": [{"id": backend.name, "object": "model",
                                                                    "owned_by": "mosaic-it"}]})
            self._error(404, f"unknown path {self.path}", "not_found")

        def do_POST(self):
            if not self._authorised():
                return
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                return self._error(404, f"unknown path {self.path}", "not_found")
            try:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                if not isinstance(body, dict):
                    raise BadRequest("the request body must be a JSON object")
                model = _field(body, "model", str, backend.name)
                if model != backend.name:
                    return self._error(404, f"unknown model {model!r}; served: {backend.name!r}", "not_found")
                self._send(200, self._chat(body) if self.path == "/v1/chat/completions" else self._completion(body))
            except json.JSONDecodeError as e:
                self._error(400, f"invalid JSON body: {e}")
            except BadRequest as e:
                self._error(400, str(e))

        def _params(self, body: dict) -> dict:
            max_tokens = _field(body, "max_tokens", int, 256)
            if max_tokens < 1:
                raise BadRequest("field 'max_tokens' must be >= 1")
            temperature = _field(body, "temperature", float, 0.0)
            if temperature < 0:
                raise BadRequest("field 'temperature' must be >= 0")
            return {"max_tokens": max_tokens, "temperature": temperature, "top_p": _field(body, "top_p", float, 1.0),
                    "seed": _field(body, "seed", int, 0)}

        def _chat(self, body: dict) -> dict:
            messages = _field(body, "messages", list, required=True)
            for i, m in enumerate(messages):
                if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                        or not isinstance(m.get("content"), str):
                    raise BadRequest(f"field 'messages[{i}]' must have a role (system/user/assistant) and string content")
            want = _field(body, "logprobs", bool, False)
            top = _field(body, "top_logprobs", int, 0)
            try:
                prompt = backend.template.render_chat(backend.tok, messages)
            except ValueError as e:
                raise BadRequest(f"field 'messages': {e}") from None
            r = backend.complete(prompt, top_logprobs=top, special_tokens=backend.template.prompt_special_tokens,
                                 **self._params(body))
            choice = {"index": 0, "message": {"role": "assistant", "content": r["text"]},
                      "finish_reason": r["finish_reason"],
                      "logprobs": {"content": [{"token": x["token"], "logprob": x["logprob"], "bytes": None,
                                                "top_logprobs": [{**t, "bytes": None} for t in x["top_logprobs"]]}
                                               for x in r["logprobs"]]} if want else None}
            return self._envelope("chat.completion", [choice], r)

        def _completion(self, body: dict) -> dict:
            prompt = body.get("prompt")
            prompts = [prompt] if isinstance(prompt, str) else prompt
            if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
                raise BadRequest("field 'prompt' must be a string or a non-empty list of strings")
            k = _field(body, "logprobs", int, None)
            params = self._params(body)
            choices, usage = [], {"prompt_tokens": 0, "completion_tokens": 0}
            for i, p in enumerate(prompts):
                r = backend.complete(p, top_logprobs=k or 0, special_tokens=True, **params)
                usage["prompt_tokens"] += r["prompt_tokens"]
                usage["completion_tokens"] += r["completion_tokens"]
                lp = None
                if k is not None:
                    lp = {"tokens": [x["token"] for x in r["logprobs"]],
                          "token_logprobs": [x["logprob"] for x in r["logprobs"]],
                          "top_logprobs": [{t["token"]: t["logprob"] for t in x["top_logprobs"]} for x in r["logprobs"]]}
                choices.append({"index": i, "text": r["text"], "finish_reason": r["finish_reason"], "logprobs": lp})
            return self._envelope("text_completion", choices, usage)

        @staticmethod
        def _envelope(kind: str, choices: list, r: dict) -> dict:
            usage = {"prompt_tokens": r["prompt_tokens"], "completion_tokens": r["completion_tokens"]}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            return {"id": f"mosaic-{secrets.token_hex(8)}", "object": kind, "created": int(time.time()),
                    "model": backend.name, "choices": choices, "usage": usage}
    return Handler


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evaluation.server", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2", help="'smollm2' or a Transformers checkpoint directory")
    ap.add_argument("--template", default="chat_template", help="prompt template id (vicuna_v1.1, chat_template, raw)")
    ap.add_argument("--served-name", default=None, help="model name clients use (default: the directory name)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    ap.add_argument("--api-key-env", default=None, help="name of an environment variable holding the required key")
    args = ap.parse_args(argv)
    if args.host not in LOOPBACK and not args.allow_remote:
        ap.error(f"--host {args.host} is not a loopback address; pass --allow-remote to serve beyond this machine")
    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            ap.error(f"--api-key-env {args.api_key_env}: that environment variable is empty")
    name = args.served_name or ("SmolLM2-135M-Instruct" if args.model == "smollm2" else Path(args.model).name)
    backend = Backend(args.model, args.template, name)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(backend, key))
    print(f"READY http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextmanager
def serve(model: str, template: str = "chat_template", served_name: str | None = None, timeout: float = 180,
          env: dict | None = None, extra: list[str] | None = None):
    """Start the server as a real subprocess on a free loopback port; yields its base URL (``.../v1``)."""
    cmd = [sys.executable, "-m", "evaluation.server", "--model", str(model), "--template", template, "--port", "0"]
    cmd += ["--served-name", served_name] if served_name else []
    cmd += extra or []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    url = None
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = proc.stdout.readline()
            if line.startswith("READY "):
                url = line.split()[1]
                break
            if not line and proc.poll() is not None:
                break
        if url is None:
            proc.kill()
            raise RuntimeError(f"evaluation.server did not start (exit {proc.poll()}): {proc.stderr.read()[-2000:]}")
        yield url + "/v1"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)


if __name__ == "__main__":
    main()
