"""The OpenAI-compatible server as a real process on 127.0.0.1, through the real openai client and raw HTTP."""
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from evaluation.server import serve

HI = [{"role": "user", "content": "Say hi"}]


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    # fp32, so the served text can be compared with the in-process generator's
    with serve(str(tiny_checkpoint), template="vicuna_v1.1", served_name="tiny", extra=["--no-bf16"]) as url:
        yield url


def request(url: str, body=None, headers=None, method="POST", raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_chat_through_the_openai_client_equals_in_process_generation(server, tiny_checkpoint):
    import torch
    from openai import OpenAI
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evaluation.generation import GenerationConfig, Generator

    client = OpenAI(base_url=server, api_key="EMPTY", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["tiny"]
    r = client.chat.completions.create(model="tiny", messages=HI, max_tokens=5, temperature=0, logprobs=True,
                                       top_logprobs=3)
    choice = r.choices[0]
    assert r.object == "chat.completion" and r.model == "tiny" and r.id and r.created > 0
    assert choice.finish_reason in ("stop", "length") and choice.message.role == "assistant"
    assert r.usage.completion_tokens == len(choice.logprobs.content) <= 5
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert all(len(t.top_logprobs) == 3 and t.logprob <= 0 and t.top_logprobs[0].token == t.token
               for t in choice.logprobs.content)  # greedy: the chosen token is the most likely one
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    local = Generator(model, AutoTokenizer.from_pretrained(tiny_checkpoint), "vicuna_v1.1", "x", bf16=False,
                      progress=False).generate([HI], GenerationConfig(max_new_tokens=5))[0]
    assert choice.message.content == local.text and r.usage.completion_tokens == local.n_tokens
    # sampling with a seed repeats; logprobs are optional
    kw = dict(model="tiny", messages=HI, max_tokens=6, temperature=1.0, seed=7)
    assert client.chat.completions.create(**kw).choices[0].message.content == \
        client.chat.completions.create(**kw).choices[0].message.content
    assert client.chat.completions.create(**kw).choices[0].logprobs is None


def test_completions_batch_and_logprobs(server):
    from openai import OpenAI

    client = OpenAI(base_url=server, api_key="EMPTY", max_retries=0)
    c = client.completions.create(model="tiny", prompt=["One", "Two and three"], max_tokens=4, temperature=0,
                                  logprobs=2)
    assert c.object == "text_completion" and [ch.index for ch in c.choices] == [0, 1]
    for ch in c.choices:
        lp = ch.logprobs
        assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) <= 4
        assert all(len(t) <= 2 for t in lp.top_logprobs) and all(x <= 0 for x in lp.token_logprobs)
        assert lp.text_offset == sorted(lp.text_offset)
    assert c.usage.completion_tokens == sum(len(ch.logprobs.tokens) for ch in c.choices)
    one = client.completions.create(model="tiny", prompt="Two and three", max_tokens=4, temperature=0)
    assert one.choices[0].text == c.choices[1].text and one.choices[0].logprobs is None  # batching changes nothing


def test_raw_http_shapes_and_stop(server):
    status, r = request(server + "/chat/completions", {"model": "tiny", "messages": HI, "max_tokens": 6,
                                                       "temperature": 0})
    assert status == 200 and set(r) >= {"id", "object", "created", "model", "choices", "usage"}
    text = r["choices"][0]["message"]["content"]
    if len(text) > 2:  # stop on a piece of what greedy produces: the text ends before it
        status, s = request(server + "/chat/completions", {"model": "tiny", "messages": HI, "max_tokens": 6,
                                                           "temperature": 0, "stop": [text[2:4]]})
        assert status == 200 and s["choices"][0]["finish_reason"] == "stop"
        assert text.startswith(s["choices"][0]["message"]["content"]) and text[2:4] not in \
            s["choices"][0]["message"]["content"]
    assert request(server.removesuffix("/v1") + "/health", method="GET") == (200, {"status": "ok", "model": "tiny"})


def forward_logprobs(model, ids):
    """The next-token log-probabilities of a plain forward pass (no cache, no padding, no generate)."""
    import torch

    with torch.no_grad():
        return torch.log_softmax(model(torch.tensor([ids])).logits[0, -1].float(), dim=-1)


def test_chat_logprobs_are_the_models_own_log_probabilities(server, tiny_checkpoint):
    import math

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mosaic.data.templates import get_template

    status, r = request(server + "/chat/completions", {"model": "tiny", "messages": HI, "max_tokens": 4,
                                                       "temperature": 0, "logprobs": True, "top_logprobs": 20})
    assert status == 200
    content = r["choices"][0]["logprobs"]["content"]
    assert len(content) == r["usage"]["completion_tokens"] >= 1
    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32).eval()
    template = get_template("vicuna_v1.1")
    ids = tok(template.render_chat(tok, HI), add_special_tokens=template.prompt_special_tokens)["input_ids"]
    for t in content:
        lp = forward_logprobs(model, ids)
        values, top_ids = lp.topk(20)
        top = [a["logprob"] for a in t["top_logprobs"]]
        assert top == sorted(top, reverse=True) and sum(math.exp(v) for v in top) <= 1 + 1e-6
        assert top == pytest.approx(values.tolist(), abs=1e-4)  # the same 20 values as the forward pass
        assert {a["token"] for a in t["top_logprobs"]} <= {tok.decode([i]) for i in lp.topk(25)[1].tolist()}
        assert all(a["bytes"] == list(a["token"].encode()) for a in t["top_logprobs"] if "\ufffd" not in a["token"])
        chosen = next(i for i in top_ids.tolist() if tok.decode([i]) == t["token"])  # greedy: among the top
        assert t["logprob"] == pytest.approx(lp[chosen].item(), abs=1e-4)
        assert t["logprob"] == pytest.approx(values[0].item(), abs=1e-4)
        ids = ids + [chosen]
    # what alpaca_eval's weighted annotator sends: one sampled token, its top 5
    status, r = request(server + "/chat/completions", {"model": "tiny", "messages": HI, "max_tokens": 1,
                                                       "temperature": 1, "logprobs": True, "top_logprobs": 5})
    (first,) = r["choices"][0]["logprobs"]["content"]
    lp = forward_logprobs(model, tok(template.render_chat(tok, HI),
                                     add_special_tokens=template.prompt_special_tokens)["input_ids"])
    same_text = [i for i, text in enumerate(tok.batch_decode([[i] for i in range(len(lp))])) if text == first["token"]]
    assert any(abs(lp[i].item() - first["logprob"]) < 1e-4 for i in same_text)  # the raw model's, not tempered
    assert [a["logprob"] for a in first["top_logprobs"]] == pytest.approx(lp.topk(5)[0].tolist(), abs=1e-4)


def test_token_bytes_rebuild_multibyte_characters(tiny_checkpoint):
    from transformers import AutoTokenizer

    from evaluation.server.token_bytes import token_bytes

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    text = "naïve 🙂 東京"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    pieces = [token_bytes(tok, i, tok.decode([i])) for i in ids]
    assert any("\ufffd" in tok.decode([i]) for i in ids)  # some token holds part of a character
    assert bytes(b for p in pieces for b in p) == text.encode("utf-8")


CHAT = {"model": "tiny", "messages": HI}


@pytest.mark.parametrize("path,body,field", [
    ("/chat/completions", {"model": "tiny"}, "messages"),
    ("/chat/completions", {**CHAT, "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
    ("/chat/completions", {**CHAT, "messages": [{"role": "assistant", "content": "x"}]}, "messages"),
    ("/chat/completions", {**CHAT, "max_tokens": "ten"}, "max_tokens"),
    ("/chat/completions", {**CHAT, "max_tokens": 100000}, "max_tokens"),  # beyond the model's context
    ("/chat/completions", {**CHAT, "temperature": -1}, "temperature"),
    ("/chat/completions", {**CHAT, "top_p": 0}, "top_p"),
    ("/chat/completions", {**CHAT, "n": 2}, "n"),
    ("/chat/completions", {**CHAT, "stream": True}, "stream"),
    ("/chat/completions", {**CHAT, "stop": [1]}, "stop"),
    ("/chat/completions", {**CHAT, "top_logprobs": 2}, "top_logprobs"),
    ("/chat/completions", {**CHAT, "logprobs": True, "top_logprobs": 21}, "top_logprobs"),  # OpenAI's 0..20
    ("/chat/completions", {**CHAT, "logprobs": True, "top_logprobs": -1}, "top_logprobs"),
    ("/chat/completions", {**CHAT, "logprobs": "yes"}, "logprobs"),
    ("/completions", {"model": "tiny", "prompt": 3}, "prompt"),
    ("/completions", {"model": "tiny", "prompt": "x", "echo": True}, "echo"),
    ("/completions", {"model": "tiny", "prompt": "x", "logprobs": 99}, "logprobs"),
])
def test_bad_requests_get_400_naming_the_field(server, path, body, field):
    status, payload = request(server + path, body)
    assert status == 400 and payload["error"]["param"] == field and field in payload["error"]["message"]


def test_invalid_json_unknown_model_path_and_method(server):
    status, payload = request(server + "/chat/completions", raw=b"{not json")
    assert status == 400 and "not valid JSON" in payload["error"]["message"]
    status, payload = request(server + "/chat/completions", {"model": "gpt-9", "messages": HI})
    assert status == 404 and payload["error"]["code"] == "model_not_found" and "gpt-9" in payload["error"]["message"]
    assert request(server + "/embeddings", {"model": "tiny"})[0] == 404
    assert request(server + "/chat/completions", method="GET")[0] == 405


def test_non_loopback_host_is_refused(tiny_checkpoint):
    r = subprocess.run([sys.executable, "-m", "evaluation.server", "--model", str(tiny_checkpoint), "--host",
                        "0.0.0.0"], capture_output=True, text=True)  # waits for the exit (an event)
    assert r.returncode != 0 and "--allow-remote" in r.stderr and "READY" not in r.stdout


def test_a_server_that_cannot_start_is_reported(tmp_path):
    with pytest.raises(RuntimeError, match="(?s)exited with 1.*not a directory"):
        with serve(str(tmp_path / "missing")):  # returns when the process exits (an event), no deadline
            pass


def test_api_key_is_required_when_configured(tiny_checkpoint, tmp_path):
    from openai import AuthenticationError, OpenAI

    log = tmp_path / "server.log"
    with serve(str(tiny_checkpoint), served_name="tiny", api_key_env="SERVE_KEY", env={"SERVE_KEY": "s3cret-value"},
               log_path=log) as url:
        body = {"model": "tiny", "messages": HI, "max_tokens": 2}
        status, payload = request(url + "/chat/completions", body)
        assert status == 401 and "s3cret" not in json.dumps(payload)
        assert request(url + "/chat/completions", body, {"Authorization": "Bearer wrong"})[0] == 401
        assert request(url + "/models", method="GET")[0] == 401
        assert request(url.removesuffix("/v1") + "/health", method="GET")[0] == 200  # liveness needs no key
        assert request(url + "/chat/completions", body, {"Authorization": "Bearer s3cret-value"})[0] == 200
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=url, api_key="nope", max_retries=0).models.list()
        assert OpenAI(base_url=url, api_key="s3cret-value").models.list().data[0].id == "tiny"
    text = log.read_text()
    assert "POST /v1/chat/completions 200" in text and "s3cret" not in text
