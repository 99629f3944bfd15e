"""Credentials: recognised by key name or by shape, kept out of every file this suite or Hydra writes.

Keys belong in the environment (``judge.api_key_env`` names the variable). A key given on the command
line (``+judge.api_key=...``) is taken out of ``sys.argv`` before Hydra parses it, so it never reaches
``.hydra/*.yaml``, ``multirun.yaml`` or the sweep's MLflow tags, and travels to the job, in this process
or a launcher's worker processes, in an environment variable (:data:`ENV_PREFIX`).
"""
from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlsplit

# The last word of a key name (split on _ - .): "hf_token" and "api_key" match; "tokenizer", "max_tokens"
# and "api_key_env" (the *name* of an environment variable) do not.
SECRET_KEY = re.compile(r"(^|[_\-.])(api[_\-]?key|key|token|secret|password|passwd|credentials?|authorization)$",
                        re.I)
REDACTED = "***"
ENV_PREFIX = "MOSAIC_SECRET__"  # MOSAIC_SECRET__judge__api_key holds judge.api_key
# Shapes of common API keys: OpenAI/Anthropic (sk-...), Hugging Face (hf_...), GitHub, Slack, AWS, Google.
KEY_SHAPES = re.compile(r"^(sk-|sk_|hf_|ghp_|gho_|github_pat_|xox[abp]-|AKIA|AIza)[A-Za-z0-9_\-]{8,}")


def redact(obj):
    """A copy with every value under a credential-like key replaced (key names themselves are kept)."""
    if isinstance(obj, dict):
        return {k: (REDACTED if SECRET_KEY.search(str(k)) and v not in (None, "") and not isinstance(v, dict)
                    else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def looks_like_key(value: str) -> bool:
    """A known key shape, or a long random-looking token (digits and letters of both cases, no separators)."""
    if KEY_SHAPES.match(value):
        return True
    return (len(value) >= 32 and any(c.isdigit() for c in value) and any(c.islower() for c in value)
            and any(c.isupper() for c in value))


def credentials_in_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.username or parts.password:
        return True
    return any(SECRET_KEY.search(k) or looks_like_key(v) for k, v in parse_qsl(parts.query))


def _override_key(arg: str) -> str:
    return arg.split("=", 1)[0].lstrip("+~")


def is_secret_override(arg: str) -> bool:
    return "=" in arg and not arg.startswith("-") and bool(SECRET_KEY.search(_override_key(arg).split(".")[-1]))


def unsafe_override(arg: str) -> str | None:
    """Why a command-line override must be refused before Hydra records it, or None."""
    if "=" not in arg or arg.startswith("-"):
        return None
    key, value = _override_key(arg), arg.split("=", 1)[1]
    if key.startswith("hydra.") and is_secret_override(arg):
        return (f"{key} would be recorded in Hydra's .hydra/hydra.yaml; set the variable in the environment "
                "before starting the run instead (`export NAME=...`).")
    if key.endswith("api_key_env") and looks_like_key(value):
        return (f"{key} must be the NAME of an environment variable (e.g. OPENAI_API_KEY), and the value given "
                "looks like a key itself. Keys belong in the environment: `export OPENAI_API_KEY=...`.")
    if key.endswith("base_url") and credentials_in_url(value):
        return (f"{key} contains credentials; give the bare endpoint URL and put the key in the environment "
                "variable named by judge.api_key_env.")
    return None


def take_secret_overrides(argv: list[str], environ=os.environ) -> list[str]:
    """``argv`` without secret overrides; their values move to ``environ`` (see :func:`restore_secrets`).

    Raises ValueError (no value echoed) for an override that would store a key under a non-secret name."""
    kept = []
    for arg in argv:
        reason = unsafe_override(arg)
        if reason:
            raise ValueError(reason)
        if is_secret_override(arg):
            environ[ENV_PREFIX + _override_key(arg).replace(".", "__")] = arg.split("=", 1)[1]
        else:
            kept.append(arg)
    return kept


def restore_secrets(cfg: dict, environ=os.environ) -> dict:
    """``cfg`` with the secrets that :func:`take_secret_overrides` moved to the environment put back."""
    out = dict(cfg)
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        *parents, leaf = name[len(ENV_PREFIX):].split("__")
        node = out
        for p in parents:
            node[p] = dict(node.get(p) or {})
            node = node[p]
        node[leaf] = value
    return out


def redact_overrides(overrides: list[str]) -> list[str]:
    """Override strings as they may be stored: secret values replaced."""
    return [f"{a.split('=', 1)[0]}={REDACTED}" if is_secret_override(a) else a for a in overrides]
