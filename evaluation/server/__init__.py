"""A small OpenAI-compatible server over a local Transformers model (``python -m evaluation.server``, see
``evaluation.server.app`` for the endpoints and options). Modules: ``fields`` (request validation,
``BadRequest``), ``backend`` (the model behind it), ``handlers`` (the completion endpoints and the HTTP
handler), ``app`` (the command line and the HTTP server), ``launch`` (``serve()``, which runs it as a
subprocess for tests and scripts). The public names are re-exported here.
"""
from __future__ import annotations

from .app import is_loopback, main
from .backend import Backend
from .fields import MAX_STOP, BadRequest
from .handlers import MAX_BODY, ROUTES, chat_completion, make_handler, text_completion
from .launch import serve

__all__ = ["MAX_BODY", "MAX_STOP", "ROUTES", "Backend", "BadRequest", "chat_completion", "is_loopback", "main",
           "make_handler", "serve", "text_completion"]
