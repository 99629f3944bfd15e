"""A small OpenAI-compatible server over a local Transformers model (``python -m evaluation.server``, see
``evaluation.server.app`` for the endpoints and options). Modules: ``limits`` (every bound on a client),
``fields`` (request validation, ``BadRequest``), ``backend`` (the model behind it, generated batch by batch
under ``fairlock``'s FIFO lock; ``token_bytes`` for logprobs), ``completions`` (the completion endpoints),
``request_body`` (the Content-Length checks and a deadline-bound body read), ``handlers`` (the HTTP
handler), ``app`` (the command line and the HTTP server), ``launch`` (``serve()``, which runs it as a
subprocess for tests and scripts). The public names are re-exported here.
"""
from __future__ import annotations

from .app import is_loopback, main
from .backend import Backend
from .completions import ROUTES, chat_completion, text_completion
from .fields import MAX_STOP, BadRequest
from .handlers import make_handler
from .launch import serve
from .limits import MAX_BODY, Limits

__all__ = ["MAX_BODY", "MAX_STOP", "ROUTES", "Backend", "BadRequest", "Limits", "chat_completion", "is_loopback",
           "main", "make_handler", "serve", "text_completion"]
