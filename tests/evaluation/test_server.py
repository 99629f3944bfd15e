"""The OpenAI-compatible server as a real process on 127.0.0.1, through the real openai client and raw HTTP."""
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from evaluation.server import serve


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    with serve(str(tiny_checkpoint), template="vicuna_v1.1", served_name="tiny") as url:
        yield url


def post(url: str, body, headers=None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_chat_and_completions_through_the_openai_client(server):
    from openai import OpenAI

    client = OpenAI(base_url=server, api_key="EMPTY")
    assert [m.id for m in client.models.list().data] == ["tiny"]
    r = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Say hi"}], max_tokens=5,
                                       logprobs=True, top_logprobs=3)
    choice = r.choices[0]
    assert choice.finish_reason in ("stop", "length") and isinstance(choice.message.content, str)
    assert r.usage.completion_tokens == len(choice.logprobs.content) <= 5
    assert all(len(t.top_logprobs) == 3 and t.logprob <= 0 for t in choice.logprobs.content)
    again = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Say hi"}], max_tokens=5)
    assert again.choices[0].message.content == choice.message.content  # greedy is deterministic
    c = client.completions.create(model="tiny", prompt=["One", "Two"], max_tokens=4, logprobs=2)
    assert len(c.choices) == 2 and len(c.choices[0].logprobs.token_logprobs) == c.choices[0].logprobs.tokens.__len__()


@pytest.mark.parametrize("body,field", [
    ({"model": "tiny"}, "messages"),
    ({"model": "tiny", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
    ({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}, "max_tokens"),
    ({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "temperature": -1}, "temperature"),
])
def test_bad_requests_get_400_naming_the_field(server, body, field):
    status, payload = post(server + "/chat/completions", body)
    assert status == 400 and field in payload["error"]["message"]


def test_unknown_model_and_path_are_404(server):
    assert post(server + "/chat/completions", {"model": "gpt-9", "messages": []})[0] == 404
    assert post(server + "/embeddings", {"model": "tiny"})[0] == 404


def test_non_loopback_host_is_refused(tiny_checkpoint):
    r = subprocess.run([sys.executable, "-m", "evaluation.server", "--model", str(tiny_checkpoint), "--host",
                        "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--allow-remote" in r.stderr


def test_api_key_is_required_when_configured(tiny_checkpoint):
    with serve(str(tiny_checkpoint), served_name="tiny", env={"SERVE_KEY": "s3cret-value"},
               extra=["--api-key-env", "SERVE_KEY"]) as url:
        body = {"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
        status, payload = post(url + "/chat/completions", body)
        assert status == 401 and "s3cret" not in json.dumps(payload)
        assert post(url + "/chat/completions", body, {"Authorization": "Bearer s3cret-value"})[0] == 200
