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
picks a free port). Limits (``evaluation.server.limits``): ``--max-request-bytes`` (a POST needs a
``Content-Length``: missing 411, malformed 400, larger 413, all before the body is read),
``--request-timeout`` (each socket read/write and the whole body; 408 for a body that stalls),
``--max-prompts`` per /v1/completions request, ``--max-tokens`` (the cap on max_tokens, also when the model
config gives no context), ``--backlog`` (the listen queue). Model calls take a FIFO lock one batch of
``--batch-size`` prompts at a time, so a large request lets other clients in between its batches.
Sampling uses OpenAI semantics (temperature and top_p only, no top-k); logprobs are those of the raw
model distribution. ``serve()`` runs it as a subprocess for tests and scripts.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
from http.server import ThreadingHTTPServer
from pathlib import Path

from mosaic.data.templates import TEMPLATES

from .backend import Backend
from .handlers import make_handler
from .limits import Limits


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, backlog: int):
        self.request_queue_size = backlog  # listen() reads it when the server activates
        super().__init__(address, handler)


class _Server6(_Server):
    address_family = socket.AF_INET6


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its "invalid int value" message
    return parse


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
    d = Limits()
    ap.add_argument("--max-request-bytes", type=_positive(int), default=d.max_request_bytes,
                    help="largest request body")
    ap.add_argument("--request-timeout", type=_positive(float), default=d.request_timeout,
                    help="seconds for each socket read or write of a client, and for a whole request body")
    ap.add_argument("--max-prompts", type=_positive(int), default=d.max_prompts,
                    help="prompts per /v1/completions request")
    ap.add_argument("--max-tokens", type=_positive(int), default=d.max_tokens,
                    help="the largest max_tokens a request may ask for")
    ap.add_argument("--backlog", type=_positive(int), default=d.backlog, help="listen backlog (connections queued)")
    ap.add_argument("--batch-size", type=_positive(int), default=d.batch_size,
                    help="prompts per model call; other requests are served between calls")
    args = ap.parse_args(argv)
    limits = Limits(max_request_bytes=args.max_request_bytes, request_timeout=args.request_timeout,
                    max_prompts=args.max_prompts, max_tokens=args.max_tokens, backlog=args.backlog,
                    batch_size=args.batch_size)
    if not is_loopback(args.host) and not args.allow_remote:
        ap.error(f"--host {args.host} is not a loopback address; pass --allow-remote to serve beyond this machine "
                 "(and consider --api-key-env)")
    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            ap.error(f"--api-key-env {args.api_key_env}: that environment variable is empty or unset")
    if args.template not in TEMPLATES:
        ap.error(f"--template {args.template!r}: known templates are {TEMPLATES}")
    name = args.served_name or ("SmolLM2-135M-Instruct" if args.model == "smollm2" else Path(args.model).name)
    backend = Backend(args.model, args.template, name, bf16=False if args.no_bf16 else None, limits=limits,
                      log=not args.quiet)
    cls = _Server6 if ":" in args.host else _Server
    server = cls((args.host.strip("[]"), args.port), make_handler(backend, key, log=not args.quiet), limits.backlog)
    signal.signal(signal.SIGTERM, _interrupt)  # serve()'s SIGTERM: close the socket and exit cleanly
    host = f"[{args.host.strip('[]')}]" if ":" in args.host else args.host
    print(f"READY http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
