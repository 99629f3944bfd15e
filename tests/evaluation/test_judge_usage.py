"""Concurrent judging and its accounting, against real HTTP servers on 127.0.0.1 (no mocked HTTP layer).

The ``Gate`` server holds every request until the test lets it go and counts the requests in flight, so
the bound is proved by events: the test waits until the pool is full, then releases the newest request
(answers come back out of input order), and the server records the largest overlap it ever saw."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evaluation.judges import JudgeUnavailable, JudgmentCache, Usage, complete_all, make_judge, usage_metrics
from evaluation.judges.usage import load_prices, price_for
from evaluation.server import serve

SECRET = "sk-concurrency-secret-456"
GUARD = 60  # seconds: only to fail instead of hanging when the bound is broken; no assertion uses time


class Gate:
    """Server-side state: requests in flight (arrival to the start of the answer), the largest overlap,
    the held requests, and the ones the test released."""

    def __init__(self):
        self.cond = threading.Condition()
        self.in_flight = self.max_in_flight = self.arrived = 0
        self.held: list[int] = []
        self.released: set[int] = set()
        self.hold = False    # hold each request until released
        self.barrier = 0     # hold each request until this many have arrived

    def enter(self) -> int:
        with self.cond:
            ticket = self.arrived
            self.arrived += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.held.append(ticket)
            self.cond.notify_all()
            assert self.cond.wait_for(lambda: (not self.hold or ticket in self.released)
                                      and self.arrived >= self.barrier, GUARD)
            self.held.remove(ticket)
            self.in_flight -= 1  # before the answer is sent: the client may start its next request only then
            self.cond.notify_all()
            return ticket

    def wait_until(self, predicate) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, GUARD), f"the judge never reached the expected overlap: held {self.held}, released {sorted(self.released)}, arrived {self.arrived}"

    def release_newest(self) -> None:
        with self.cond:
            self.released.add(self.held[-1])
            self.cond.notify_all()


class Handler(BaseHTTPRequestHandler):
    """Answers ``echo:<last message>``, with usage prompt_tokens = its length and completion_tokens = 3;
    a message containing FAIL gets HTTP 400 naming it; the Authorization header is never echoed."""

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.gate.enter()
        content = body["messages"][-1]["content"]
        if "FAIL" in content:
            status, out = 400, {"error": {"message": f"refusing {content}"}}
        else:
            status, out = 200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": f"echo:{content}"}}],
                                "usage": {"prompt_tokens": len(content), "completion_tokens": 3,
                                          "total_tokens": len(content) + 3}}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def gate():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.gate = Gate()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.gate, f"http://127.0.0.1:{srv.server_address[1]}/v1"
    with srv.gate.cond:  # let any request still held go, so shutdown cannot hang
        srv.gate.hold, srv.gate.barrier = False, 0
        srv.gate.cond.notify_all()
    srv.shutdown()
    srv.server_close()


def judge_at(url: str, monkeypatch, **kw):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    return make_judge({"kind": "openai", "model": "gpt-test", "base_url": url, "max_retries": 0, "backoff": 0.0,
                       "api_key_env": "JUDGE_KEY", "timeout": GUARD, **kw})


def convs(*contents):
    return [[{"role": "system", "content": "Grade."}, {"role": "user", "content": c}] for c in contents]


def test_requests_overlap_up_to_the_bound_never_beyond_in_input_order(gate, monkeypatch, tmp_path):
    state, url = gate
    state.hold = True
    bound, contents = 3, [f"answer number {i}" for i in range(8)]
    judge = judge_at(url, monkeypatch, concurrency=bound, cache_dir=str(tmp_path),
                     price_per_million={"input": 2.0, "output": 10.0})
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(texts=complete_all(judge, convs(*contents), max_tokens=5)))
    worker.start()
    for left in range(len(contents), 0, -1):  # the pool refills after each answer until nothing is left
        state.wait_until(lambda: len(state.held) == min(bound, left) and not state.released & set(state.held))
        state.release_newest()  # newest first: answers arrive out of input order
    worker.join(GUARD)
    assert not worker.is_alive()
    assert state.max_in_flight == bound and state.arrived == len(contents)
    assert out["texts"] == [f"echo:{c}" for c in contents]
    usage = judge.usage.snapshot()
    assert usage == Usage(calls=8, cached=0, prompt_tokens=sum(map(len, contents)), completion_tokens=24)
    metrics = usage_metrics("alpaca_eval", usage, judge.price)
    assert metrics["judge_usage/alpaca_eval/calls"] == 8 and metrics["judge_usage/alpaca_eval/cached"] == 0
    assert metrics["judge_usage/alpaca_eval/prompt_tokens"] == 120
    assert metrics["judge_usage/alpaca_eval/usd_estimate"] == pytest.approx((120 * 2.0 + 24 * 10.0) / 1e6)
    assert SECRET not in json.dumps(metrics) + json.dumps(judge.price) + (tmp_path / "openai.jsonl").read_text()


def test_the_cache_does_not_depend_on_concurrency(gate, monkeypatch, tmp_path):
    _, url = gate
    talks = convs(*[f"q{i}" for i in range(6)], "q0")  # a repeat is requested once
    one = judge_at(url, monkeypatch, concurrency=1, cache_dir=str(tmp_path / "one"))
    many = judge_at(url, monkeypatch, concurrency=4, cache_dir=str(tmp_path / "many"))
    assert one.complete_many(talks, max_tokens=5) == many.complete_many(talks, max_tokens=5)
    assert one.calls == many.calls == 6

    def rows(judge):
        return [json.loads(line) for line in judge.cache.path.read_text().splitlines()]
    assert sorted(map(json.dumps, rows(one))) == sorted(map(json.dumps, rows(many)))  # same keys, same texts
    # the key is still the pre-concurrency formula, so caches written before this change stay valid
    assert {r["key"] for r in rows(one)} == {JudgmentCache.key("gpt-test", url, m, 0.0, 5, 0) for m in talks}
    reread = judge_at(url, monkeypatch, concurrency=4, cache_dir=str(tmp_path / "one"))
    assert reread.complete_many(talks, max_tokens=5) == one.complete_many(talks, max_tokens=5)
    assert reread.usage.snapshot() == Usage(cached=7)  # every judgment from the cache, nothing sent
    assert one.usage.snapshot().cached == 0  # answers this judge paid for itself are not savings


def test_a_failure_keeps_what_the_others_returned(gate, monkeypatch, tmp_path):
    state, url = gate
    state.barrier = 4  # all four in flight at once: the good ones finish while the bad ones fail
    talks = convs("good 0", "FAIL first", "good 2", "FAIL second")
    judge = judge_at(url, monkeypatch, concurrency=4, cache_dir=str(tmp_path))
    with pytest.raises(JudgeUnavailable, match="HTTP 400.*refusing FAIL first") as err:  # the first in input order
        judge.complete_many(talks, max_tokens=5)
    assert SECRET not in str(err.value) and judge.calls == 4
    state.barrier = 0
    again = judge_at(url, monkeypatch, concurrency=4, cache_dir=str(tmp_path))
    assert again.complete_many([talks[0], talks[2]], max_tokens=5) == ["echo:good 0", "echo:good 2"]
    assert again.calls == 0


def test_after_a_failure_no_new_request_starts(gate, monkeypatch):
    state, url = gate
    talks = convs("FAIL now", *[f"later {i}" for i in range(5)])
    judge = judge_at(url, monkeypatch, concurrency=1)  # one at a time, as before: stops at the failure
    with pytest.raises(JudgeUnavailable, match="refusing FAIL now"):
        judge.complete_many(talks, max_tokens=5)
    assert state.arrived == 1


def test_concurrency_against_the_project_server(tiny_checkpoint, monkeypatch, tmp_path):
    talks = convs(*[f"Rate answer {i}: [[{i}]]" for i in range(6)])
    with serve(str(tiny_checkpoint), template="chat_template", served_name="judge") as url:
        one = judge_at(url, monkeypatch, model="judge", concurrency=1, cache_dir=str(tmp_path / "one"))
        many = judge_at(url, monkeypatch, model="judge", concurrency=4, cache_dir=str(tmp_path / "many"))
        assert many.complete_many(talks, max_tokens=4) == one.complete_many(talks, max_tokens=4)
    u1, un = one.usage.snapshot(), many.usage.snapshot()
    assert u1 == un and u1.calls == 6 and u1.prompt_tokens > 0 and u1.completion_tokens > 0 and u1.without_usage == 0
    assert many.price is None and "judge_usage/mt_bench/usd_estimate" not in usage_metrics("mt_bench", un, None)


def test_local_judge_counts_its_tokens(tiny_checkpoint, tmp_path, shipped_judges):
    cfg = {**shipped_judges["local"], "model": str(tiny_checkpoint), "template": "vicuna_v1.1",
           "cache_path": str(tmp_path / "local.jsonl")}
    judge = make_judge(cfg)
    talks = [[{"role": "user", "content": "Rate: fine? [[5]]"}], [{"role": "user", "content": "Rate: bad? [[1]]"}]]
    complete_all(judge, talks, max_tokens=4)
    used = judge.usage.snapshot()
    assert used.calls == 2 and used.cached == 0
    assert used.prompt_tokens == sum(judge.prompt_tokens(t) for t in talks) > 0 and 0 < used.completion_tokens <= 8
    again = make_judge(cfg)
    complete_all(again, talks, max_tokens=4)
    assert again.usage.snapshot() == Usage(cached=2)
    with pytest.raises(ValueError, match="judge.concurrency must be 1 for the local judge"):
        make_judge({**cfg, "concurrency": 4})


def test_prices_and_bad_settings_are_named(monkeypatch):
    table = load_prices()
    assert table["gpt-4-turbo"]["input"] > 0 and table["gpt-4-turbo"]["as_of"]  # user-set, dated
    assert price_for("gpt-4-turbo")["source"] == "prices.yaml" and price_for("unknown-model") is None
    assert price_for("gpt-4-turbo", {"input": 1, "output": 2}) == \
        {"input": 1.0, "output": 2.0, "source": "judge.price_per_million"}
    with pytest.raises(ValueError, match="judge.price_per_million must be"):
        price_for("m", {"input": -1, "output": 2})
    with pytest.raises(ValueError, match="judge.concurrency must be an integer >= 1"):
        judge_at("http://127.0.0.1:9/v1", monkeypatch, concurrency=0)
    assert judge_at("http://127.0.0.1:9/v1", monkeypatch).concurrency == 8  # the default for an API


def test_the_evaluation_records_judge_usage_per_adapter(gate, monkeypatch, tmp_path):
    """evaluation.run logs what each adapter spent on the judge, a failed adapter included, and no key."""
    import mlflow

    from evaluation import run as evaluation_run
    from evaluation.adapters import AdapterResult

    _, url = gate
    monkeypatch.setenv("JUDGE_KEY", SECRET)

    def judging(n, fail=False):
        def adapter(ctx, cfg):
            complete_all(ctx.judge, convs(*[f"{cfg['tag']} {i}" for i in range(n)]), max_tokens=5)
            if fail:
                raise RuntimeError("after judging")
            return AdapterResult(metrics={"alpaca_eval/win_rate": 50.0})
        return adapter

    adapters = {"alpaca_eval": judging(4), "mt_bench": judging(3, fail=True),
                "lm_eval": lambda ctx, cfg: AdapterResult(metrics={"lm_eval/acc": 0.5})}  # never asks for the judge
    monkeypatch.setattr(evaluation_run, "get_adapter", adapters.__getitem__)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("usage", artifact_location=str(tmp_path / "art"))).info.run_id
    cfg = {"run_name": "r", "seed": 0, "model": {"template": "chat_template"}, "train": {}, "generation": {},
           "tracking": {"uri": uri},
           "eval": {"alpaca_eval": {"tag": "ae"}, "mt_bench": {"tag": "mt"}, "lm_eval": {}},
           "judge": {"kind": "openai", "model": "gpt-4-turbo", "base_url": url, "api_key_env": "JUDGE_KEY",
                     "max_retries": 0, "backoff": 0.0, "timeout": GUARD, "concurrency": 2}}
    with pytest.raises(evaluation_run.EvaluationFailed, match="mt_bench: RuntimeError: after judging"):
        evaluation_run._run_adapters(cfg, None, None, tmp_path / "work", tmp_path, run_id, checkpoint_id="c")
    metrics = client.get_run(run_id).data.metrics
    usage = {k: v for k, v in metrics.items() if k.startswith("judge_usage/")}
    price = load_prices()["gpt-4-turbo"]
    ae_tokens = sum(len(f"ae {i}") for i in range(4))
    assert usage["judge_usage/alpaca_eval/calls"] == 4 and usage["judge_usage/alpaca_eval/prompt_tokens"] == ae_tokens
    assert usage["judge_usage/alpaca_eval/completion_tokens"] == 12
    assert usage["judge_usage/alpaca_eval/usd_estimate"] == pytest.approx(
        (ae_tokens * price["input"] + 12 * price["output"]) / 1e6)
    assert usage["judge_usage/mt_bench/calls"] == 3  # the failed adapter's spending is recorded too
    assert not any(k.startswith("judge_usage/lm_eval/") for k in usage)
    stored = json.loads((tmp_path / "work" / "alpaca_eval.result.json").read_text())
    assert stored["metrics"]["judge_usage/alpaca_eval/calls"] == 4  # a reused stage logs it again
    assert stored["info"]["judge_price_per_million"]["as_of"] == price["as_of"]
    data = client.get_run(run_id).data
    logged = json.dumps([data.metrics, data.tags, data.params])
    logged += "".join(p.read_text() for p in (tmp_path / "art").rglob("*") if p.is_file())
    assert "gpt-4-turbo" in logged and SECRET not in logged
