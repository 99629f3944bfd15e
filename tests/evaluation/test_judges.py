"""Judges against real processes: our server, a closed port, and a server that answers garbage."""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evaluation.judges import JudgeUnavailable, make_judge
from evaluation.server import serve

MESSAGES = [{"role": "system", "content": "Grade it."}, {"role": "user", "content": "Is 2+2=4? Answer [[7]]"}]


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    with serve(str(tiny_checkpoint), template="chat_template", served_name="judge") as url:
        yield url


def test_openai_judge_talks_to_the_server_and_caches(server, tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "sk-very-secret")
    cfg = {"kind": "openai", "model": "judge", "base_url": server, "api_key_env": "JUDGE_KEY",
           "cache_dir": str(tmp_path)}
    judge = make_judge(cfg)
    text = judge.complete(MESSAGES, max_tokens=6)
    assert isinstance(text, str) and judge.calls == 1
    assert judge.complete(MESSAGES, max_tokens=6) == text and judge.calls == 1  # cached in memory
    fresh = make_judge(cfg)
    assert fresh.complete(MESSAGES, max_tokens=6) == text and fresh.calls == 0  # cached on disk
    assert fresh.complete(MESSAGES, max_tokens=7) is not None and fresh.calls == 1  # another request
    assert "sk-very-secret" not in str(judge.identity()) + (tmp_path / "openai.jsonl").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_raises_after_retries(tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "sk-very-secret")
    url = f"http://127.0.0.1:{free_port()}/v1"
    judge = make_judge({"kind": "openai", "model": "judge", "base_url": url, "max_retries": 2, "backoff": 0.01,
                        "api_key_env": "JUDGE_KEY", "timeout": 5})
    with pytest.raises(JudgeUnavailable, match=r"failed after 3 attempts") as err:
        judge.complete(MESSAGES, max_tokens=4)
    assert url in str(err.value) and "sk-very-secret" not in str(err.value) and judge.calls == 3


class Garbage(BaseHTTPRequestHandler):
    mode = "json"

    def log_message(self, *a):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if Garbage.mode == "500":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"upstream exploded")
            return
        body = b"this is not json {" if Garbage.mode == "json" else b'{"choices": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("mode", ["json", "500", "shape"])
def test_garbage_endpoint_gives_a_clear_error(mode):
    Garbage.mode = mode
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        judge = make_judge({"kind": "openai", "model": "m", "base_url": f"http://127.0.0.1:{srv.server_address[1]}/v1",
                            "max_retries": 1, "backoff": 0.01, "api_key_env": ""})
        with pytest.raises(JudgeUnavailable, match="failed after 2 attempts"):
            judge.complete(MESSAGES, max_tokens=4)
    finally:
        srv.shutdown()


def test_unknown_judge_kind_is_named():
    with pytest.raises(ValueError, match="judge.kind"):
        make_judge({"kind": "oracle"})
    with pytest.raises(ValueError, match="judge.base_url"):
        make_judge({"kind": "openai", "model": "m"})
