"""Running the server as a real subprocess: ``serve()`` starts ``python -m evaluation.server`` on a free
loopback port in its own process group, waits for its READY line or its exit (events, not a clock a loaded
machine can miss), yields the base URL and always stops it
(SIGTERM, then SIGKILL), with the server's stderr in a log file whose tail goes into any start-up error.
Tests and scripts use it; it needs no model code itself.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def serve(model: str, template: str = "chat_template", served_name: str | None = None, *,
          api_key_env: str | None = None, env: dict | None = None, extra: list[str] | None = None,
          timeout: float | None = None, log_path: str | Path | None = None) -> Iterator[str]:
    """Run the server as a real subprocess on a free loopback port; yields its base URL (``http://...:PORT/v1``).

    Waits until the READY line is printed or the process exits (an error carrying the server's stderr tail);
    ``timeout`` seconds, if given, also bound the wait. On exit terminates the whole process group
    (SIGTERM, then SIGKILL). Server stderr goes to ``log_path``
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
    root = str(Path(__file__).resolve().parents[2])
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
        url = None
        deadline = None if timeout is None else time.monotonic() + timeout
        while url is None:
            try:
                line = lines.get(timeout=None if deadline is None else max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if line is None:  # stdout closed: the process is exiting; its status is the event to wait for
                proc.wait()
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
