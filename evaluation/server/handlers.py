"""The HTTP side of the server: ``make_handler`` builds the request handler class (bearer-key check, the
request body read under ``Limits`` (``request_body``), socket timeouts, JSON errors in OpenAI's format, a 500
that keeps the server serving, a log line per request that never carries headers or bodies) around the
endpoints in ``evaluation.server.completions``.
"""
from __future__ import annotations

import json
import secrets
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler

from .backend import Backend
from .completions import ROUTES
from .fields import BadRequest, get_field
from .request_body import Refusal, content_length, read_body


def make_handler(backend: Backend, api_key: str | None, log: bool = True):
    expected = f"Bearer {api_key}".encode() if api_key else None

    limits = backend.limits

    class Handler(BaseHTTPRequestHandler):
        server_version = "mosaic-eval-server"
        timeout = limits.request_timeout  # every socket read and write: a stalled client frees its thread

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
            try:  # the length is checked before a byte of the body is read
                raw = read_body(self.connection, self.rfile,
                                content_length(self.headers, limits.max_request_bytes), limits.request_timeout)
            except Refusal as e:
                return self._refuse(e.status, str(e))
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

        def _refuse(self, status: int, message: str):
            """Answer, then close without reading what the client may still send (the body was not read)."""
            self.close_connection = True
            try:
                self._error(status, message, code="request_too_large" if status == 413 else None)
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)  # the answer and FIN leave before any reset
            except OSError:
                pass

        def _not_allowed(self):
            self._started = time.time()
            self._error(405, f"method {self.command} is not supported", code="method_not_allowed")

        do_PUT = do_DELETE = do_PATCH = _not_allowed

    return Handler
