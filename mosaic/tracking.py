"""MLflow records of a run: flattened config as params, metrics, tags that identify code, config and data.

The store defaults to ``sqlite:///<repo>/mlflow.db`` (an absolute URI: a relative one breaks as soon
as a job changes directory); ``MLFLOW_TRACKING_URI`` or ``tracking.uri`` points elsewhere. Values
whose key looks like a credential are redacted before they reach MLflow.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

# The last word of a key name (split on _ - .): "hf_token" and "api_key" match; "tokenizer", "max_tokens"
# and "api_key_env" (the *name* of an environment variable) do not.
SECRET_KEY = re.compile(r"(^|[_\-.])(api[_\-]?key|key|token|secret|password|passwd|credentials?|authorization)$",
                        re.I)
REDACTED = "***"


def redact(obj):
    """A copy with every value under a credential-like key replaced (key names themselves are kept)."""
    if isinstance(obj, dict):
        return {k: (REDACTED if SECRET_KEY.search(str(k)) and v not in (None, "") and not isinstance(v, dict)
                    else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def flatten(obj, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(obj) if isinstance(obj, (list, dict)) else str(obj)
    return out


def config_hash(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


def git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def tracking_uri(configured: str | None, repo: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or configured or f"sqlite:///{(repo / 'mlflow.db').resolve()}"
