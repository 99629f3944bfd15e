"""Judges against real processes: our server, a closed port, and a stdlib server that misbehaves on purpose."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evaluation.judges import Judge, JudgeUnavailable, complete_all, make_judge
from evaluation.server import serve

MESSAGES = [{"role": "system", "content": "Grade it."}, {"role": "user", "content": "Is 2+2=4? Answer [[7]]"}]
SECRET = "sk-very-secret-123"


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    with serve(str(tiny_checkpoint), template="chat_template", served_name="judge") as url:
        yield url


def test_openai_judge_talks_to_the_server_and_caches(server, tmp_path, monkeypatch, shipped_judges):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    cfg = {**shipped_judges["openai"], "model": "judge", "base_url": server, "api_key_env": "JUDGE_KEY",
           "cache_dir": str(tmp_path)}
    judge = make_judge(cfg)
    assert isinstance(judge, Judge)
    text = judge.complete(MESSAGES, max_tokens=6)
    assert isinstance(text, str) and judge.calls == 1
    assert judge.complete(MESSAGES, max_tokens=6) == text and judge.calls == 1  # cached in memory
    fresh = make_judge(cfg)
    assert fresh.complete(MESSAGES, max_tokens=6) == text and fresh.calls == 0  # cached on disk: no HTTP call
    assert fresh.complete(MESSAGES, max_tokens=7) is not None and fresh.calls == 1  # another request
    ident = judge.identity()
    assert {k: ident[k] for k in ("kind", "model", "base_url", "temperature", "seed")} == \
        {"kind": "openai", "model": "judge", "base_url": server, "temperature": 0.0, "seed": 0}
    assert "template" in ident
    assert SECRET not in json.dumps(ident) + repr(judge) + (tmp_path / "openai.jsonl").read_text()


def test_local_judge_batches_and_caches(tiny_checkpoint, tmp_path, shipped_judges):
    cache = tmp_path / "local.jsonl"
    cfg = {**shipped_judges["local"], "model": str(tiny_checkpoint), "template": "vicuna_v1.1", "cache_path": str(cache)}
    judge = make_judge(cfg)
    convs = [MESSAGES[1:], [{"role": "user", "content": "Rate: fine? [[5]]"}]]
    texts = complete_all(judge, convs, max_tokens=4)
    assert len(texts) == 2 and judge.generator.model_calls == 1  # both judgments in one batch
    again = make_judge(cfg)
    assert complete_all(again, convs, max_tokens=4) == texts and again.generator.model_calls == 0
    ident = again.identity()
    assert ident["kind"] == "local" and ident["template"] == "vicuna_v1.1" and ident["base_url"] is None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_raises_after_retries(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    url = f"http://127.0.0.1:{free_port()}/v1"
    judge = make_judge({"kind": "openai", "model": "judge", "base_url": url, "max_retries": 2, "backoff": 0.01,
                        "api_key_env": "JUDGE_KEY", "timeout": 5})
    with pytest.raises(JudgeUnavailable, match=r"failed after 3 attempts; last error: APIConnectionError") as err:
        judge.complete(MESSAGES, max_tokens=4)
    assert url in str(err.value) and "'judge'" in str(err.value) and SECRET not in str(err.value)
    assert judge.calls == 3


class Misbehaving(BaseHTTPRequestHandler):
    """Behaviour by the first path segment: /json, /500, /shape, /400, /echo, /flaky (429 then a real answer)."""
    hits: dict = {}

    def log_message(self, *a):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.path.strip("/").split("/")[0]
        Misbehaving.hits[mode] = Misbehaving.hits.get(mode, 0) + 1
        status, body, headers = 200, b"", {}
        if mode == "json":
            body = b"this is not json {"
        elif mode == "500":
            status, body = 500, b"upstream exploded"
        elif mode == "shape":
            body = b'{"choices": []}'
        elif mode == "400":
            status, body = 400, b'{"error": {"message": "unsupported parameter"}}'
        elif mode == "echo":  # a server that reflects the credentials it got in its error message
            status, body = 503, json.dumps({"error": {"message": self.headers["Authorization"]}}).encode()
        elif mode == "flaky" and Misbehaving.hits[mode] == 1:
            status, body, headers = 429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"}
        else:
            body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "[[9]]"}, "finish_reason": "stop"}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def misbehaving():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def judge_at(url: str, **kw):
    return make_judge({"kind": "openai", "model": "m", "base_url": url, "max_retries": 1, "backoff": 0.01,
                       "api_key_env": "JUDGE_KEY", "timeout": 10, **kw})


@pytest.mark.parametrize("mode,error", [("json", r" \(malformed response\): JSONDecodeError"),
                                        ("500", ": InternalServerError: Error code: 500 - upstream exploded"),
                                        ("shape", r" \(malformed response\): ValueError: the response has no choices")])
def test_garbage_endpoint_is_retried_then_a_clear_error(misbehaving, mode, error, monkeypatch, tmp_path):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    judge = judge_at(f"{misbehaving}/{mode}/v1", cache_dir=str(tmp_path))
    with pytest.raises(JudgeUnavailable, match=f"failed after 2 attempts; last error{error}"):
        judge.complete(MESSAGES, max_tokens=4)
    assert judge.calls == 2 and not (tmp_path / "openai.jsonl").exists()  # nothing cached from a failure


def test_client_errors_fail_at_once(misbehaving, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    judge = judge_at(f"{misbehaving}/400/v1", max_retries=5, backoff=5)
    started = time.monotonic()
    with pytest.raises(JudgeUnavailable, match="refused the request: HTTP 400.*unsupported parameter"):
        judge.complete(MESSAGES, max_tokens=4)
    assert judge.calls == 1 and time.monotonic() - started < 4


def test_rate_limit_is_retried_and_the_answer_cached(misbehaving, monkeypatch, tmp_path):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    judge = judge_at(f"{misbehaving}/flaky/v1", cache_dir=str(tmp_path))
    assert judge.complete(MESSAGES, max_tokens=4) == "[[9]]" and judge.calls == 2
    assert judge_at(f"{misbehaving}/flaky/v1", cache_dir=str(tmp_path)).complete(MESSAGES, max_tokens=4) == "[[9]]"


def test_the_key_never_appears_in_errors(misbehaving, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    judge = judge_at(f"{misbehaving}/echo/v1")
    with pytest.raises(JudgeUnavailable) as err:
        judge.complete(MESSAGES, max_tokens=4)
    assert "Bearer ***" in str(err.value) and SECRET not in str(err.value)


def test_bad_judge_configs_are_named(shipped_judges):
    with pytest.raises(ValueError, match="judge.kind"):
        make_judge({"kind": "oracle"})
    with pytest.raises(ValueError, match="judge.base_url"):
        make_judge({"kind": "openai", "model": "m"})
    with pytest.raises(ValueError, match=r"judge.timeout is required .*conf/judge/openai.yaml"):
        make_judge({k: v for k, v in shipped_judges["openai"].items() if k != "timeout"})
