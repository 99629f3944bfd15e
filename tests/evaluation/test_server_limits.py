"""The server's bounds on clients, probed as a load test would, against the real server process on 127.0.0.1:
Content-Length checks before the body is read, socket timeouts, the listen backlog under 50 concurrent
clients, prompts per request and max_tokens always bounded, and a large batch that does not starve a small
chat request. Every wait is on an event (a response, a closed connection, a log line); ``HANG_GUARD`` only
turns a hang into a failure and is never reached by a working server.
"""
import http.client
import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from evaluation.server import serve

HANG_GUARD = 300  # seconds
HI = [{"role": "user", "content": "Say hi"}]
STRICT = ["--max-request-bytes", "2048", "--request-timeout", "2", "--max-prompts", "4", "--max-tokens", "8"]


@pytest.fixture(scope="module")
def strict(tiny_checkpoint):
    with serve(str(tiny_checkpoint), template="vicuna_v1.1", served_name="tiny", extra=STRICT) as url:
        yield url


@pytest.fixture(scope="module")
def busy(tiny_checkpoint, tmp_path_factory):
    """Default limits, one prompt per model call, its log kept: the server for concurrency and fairness."""
    log = tmp_path_factory.mktemp("busy") / "server.log"
    with serve(str(tiny_checkpoint), template="vicuna_v1.1", served_name="tiny", extra=["--batch-size", "1"],
               log_path=log) as url:
        yield url, log


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def exchange(url: str, data: bytes) -> tuple[int | None, dict | None, bytes]:
    """Send raw bytes (never half-closing), read until the server closes: (status, JSON body, raw reply)."""
    with socket.create_connection(address(url), timeout=HANG_GUARD) as s:
        s.sendall(data)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    if not reply:
        return None, None, reply
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body), reply


def post(url: str, path: str, body: dict) -> tuple[int, dict]:
    c = http.client.HTTPConnection(*address(url), timeout=HANG_GUARD)
    try:
        c.request("POST", "/v1" + path, json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def head(length: str | None, extra: str = "") -> bytes:
    line = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{line}{extra}\r\n".encode()


BODY = json.dumps({"model": "tiny", "messages": HI, "max_tokens": 2}).encode()


@pytest.mark.parametrize("length,extra,status", [
    (None, "", 411),
    (None, "Transfer-Encoding: chunked\r\n", 411),
    ("-1", "", 400),  # read until the client half-closed, then answered 200, before
    ("abc", "", 400),
    ("1_0", "", 400),  # int() would accept it
    ("+10", "", 400),
    (str(len(BODY)), f"Content-Length: {len(BODY) + 1}\r\n", 400),  # two that disagree
    ("1000000000", "", 413),
])
def test_content_length_is_checked_before_the_body_is_read(strict, length, extra, status):
    code, payload, _ = exchange(strict, head(length, extra) + BODY)  # the body is sent but the client stays open
    assert code == status and "Content-Length" in payload["error"]["message"]


def test_an_oversized_body_already_sent_still_gets_its_413(strict):
    big = b"x" * (256 << 10)  # more than the socket buffers hold: the server closes with it unread
    code, payload, _ = exchange(strict, head(str(len(big))) + big)
    assert code == 413 and "2048" in payload["error"]["message"]
    assert post(strict, "/chat/completions", {"model": "tiny", "messages": HI, "max_tokens": 2})[0] == 200


def test_a_stalled_client_is_dropped(strict):
    # headers never finished: the socket timeout closes the connection (no answer is possible)
    assert exchange(strict, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")[2] == b""
    # a body that stops short of its Content-Length: 408
    code, payload, _ = exchange(strict, head(str(len(BODY))) + BODY[:10])
    assert code == 408 and "10 of" in payload["error"]["message"]
    assert post(strict, "/chat/completions", {"model": "tiny", "messages": HI, "max_tokens": 2})[0] == 200


def test_prompts_per_request_and_max_tokens_are_bounded(strict):
    status, r = post(strict, "/completions", {"model": "tiny", "prompt": ["a"] * 5, "max_tokens": 2})
    assert status == 400 and r["error"]["param"] == "prompt" and "at most 4" in r["error"]["message"]
    status, r = post(strict, "/completions", {"model": "tiny", "prompt": ["a"] * 4, "max_tokens": 2})
    assert status == 200 and len(r["choices"]) == 4
    # the server's cap (8) applies although the model's context (2048) would allow more
    for path, body in (("/chat/completions", {"messages": HI}), ("/completions", {"prompt": "a"})):
        status, r = post(strict, path, {"model": "tiny", **body, "max_tokens": 9})
        assert status == 400 and r["error"]["param"] == "max_tokens" and "8" in r["error"]["message"]
    status, r = post(strict, "/chat/completions", {"model": "tiny", "messages": HI, "temperature": 0})
    assert status == 200 and r["usage"]["completion_tokens"] <= 8  # no max_tokens: the cap is the default


def test_fifty_concurrent_clients_are_all_served(busy):
    url, _ = busy
    n, results = 50, []
    start = threading.Barrier(n)

    def client(i):
        try:
            start.wait()  # all connect at once: the listen backlog must hold them
            results.append(post(url, "/chat/completions", {"model": "tiny", "messages": HI, "max_tokens": 2,
                                                           "seed": i}))
        except OSError as e:
            results.append((type(e).__name__, str(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [r for r in results if r[0] != 200 or r[1]["object"] != "chat.completion"]
    assert len(results) == n and not failed, failed[:3]


def test_a_large_batch_does_not_starve_a_small_chat_request(busy):
    url, log = busy
    prompts = [f"Write a long story number {i}" for i in range(16)]
    order, replies = [], {}

    def call(name, path, body):
        replies[name] = post(url, path, {"model": "tiny", "temperature": 0, **body})
        order.append(name)

    big = threading.Thread(target=call, args=("big", "/completions", {"prompt": prompts, "max_tokens": 8}))
    big.start()
    first_chunk = "generated chunk 1/16 of 16 prompts"
    while first_chunk not in Path(log).read_text() and big.is_alive():  # the big request holds the model now
        time.sleep(0.02)
    assert big.is_alive(), "the large request finished before its first chunk was logged"
    call("small", "/chat/completions", {"messages": HI, "max_tokens": 4})
    big.join()
    assert order == ["small", "big"]
    assert replies["small"][0] == 200 and replies["big"][0] == 200 and len(replies["big"][1]["choices"]) == 16
    assert "generated chunk 16/16 of 16 prompts" in Path(log).read_text()
