"""AlpacaEval as the leaderboard runs it: alpaca_eval's own weighted (logprob) annotator through its own
OpenAI decoder against this project's server as a real process, the official set recognised by content,
and the length-controlled win rate's file checked before any judgment."""
import json
import os

import pytest
import yaml

from evaluation.adapters import get_adapter
from evaluation.adapters.alpaca_eval import (LC_FEATURES, OFFICIAL_DATASETS, endpoint_annotator, is_official,
                                             lc_features)
from evaluation.context import EvalContext
from evaluation.server import serve

OFFICIAL_JUDGE = "gpt-4-1106-preview"  # the model_name of alpaca_eval's weighted_alpaca_eval_gpt4_turbo


def official_shaped(n_extra: int = 0) -> list[dict]:
    """805 distinct instructions with AlpacaEval 2's per-dataset counts (the content the adapter checks)."""
    rows = [{"instruction": f"{name} task {i}: explain item {i}.", "output": f"Reference answer {i}.",
             "generator": "gpt4_1106_preview", "dataset": name}
            for name, count in OFFICIAL_DATASETS.items() for i in range(count)]
    return rows + [{**rows[0], "instruction": f"extra {i}"} for i in range(n_extra)]


def test_the_official_set_is_recognised_by_its_content():
    rows = official_shaped()
    assert len(rows) == 805 and is_official(rows)
    assert not is_official(rows[:-1]) and not is_official(official_shaped(1))
    relabelled = [{**r, "dataset": "koala"} if i == 0 else r for i, r in enumerate(rows)]
    assert not is_official(relabelled)  # 805 rows, but not AlpacaEval's composition


def test_the_lc_file_is_found_or_named_with_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(FileNotFoundError, match="huggingface-cli download tatsu-lab/alpaca_eval df_gamed.csv"):
        lc_features({})
    with pytest.raises(FileNotFoundError, match="lc_features_path"):
        lc_features({"lc_features_path": str(tmp_path / "missing.csv")})
    local = tmp_path / LC_FEATURES[1]
    local.write_text("index,instruction\n")
    assert lc_features({"lc_features_path": str(local)}) == local


def test_an_official_set_without_the_lc_file_fails_before_generating(tmp_path, monkeypatch, tiny_checkpoint):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    eval_set = tmp_path / "official.json"
    eval_set.write_text(json.dumps(official_shaped()))
    ctx = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval", model_id="tiny")
    with pytest.raises(FileNotFoundError, match="df_gamed.csv"):
        get_adapter("alpaca_eval")(ctx, {"eval_set": str(eval_set)})
    assert "model" not in ctx.__dict__ and not (tmp_path / "eval" / "alpaca_eval").exists()


def test_a_shipped_annotator_is_copied_with_the_endpoint_and_never_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-secret-value")
    judge = {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "MY_JUDGE_KEY"}
    config = endpoint_annotator({"annotator": "weighted_alpaca_eval_gpt4_turbo", "annotator_model": "served"},
                                judge, tmp_path)
    entry = yaml.safe_load(config.read_text())["weighted_alpaca_eval_gpt4_turbo"]
    assert entry["completions_kwargs"]["model_name"] == "served"
    assert entry["fn_completion_parser"] == "logprob_parser" and entry["completions_kwargs"]["top_logprobs"] == 5
    assert (config.parents[1] / entry["prompt_template"]).is_file()  # alpaca_eval resolves it from there
    client = yaml.safe_load(open(entry["completions_kwargs"]["client_config_path"]))
    assert client == {"default": [{"base_url": "http://127.0.0.1:9/v1"}]}
    assert entry["completions_kwargs"]["num_procs"] == 8  # judge.concurrency's default for an API
    assert "price_per_token" not in entry["completions_kwargs"]  # "served" has no price: none invented
    entry = yaml.safe_load(endpoint_annotator({"annotator": "weighted_alpaca_eval_gpt4_turbo"},
                                              {**judge, "concurrency": 3}, tmp_path).read_text())[
        "weighted_alpaca_eval_gpt4_turbo"]
    assert entry["completions_kwargs"]["num_procs"] == 3
    assert entry["completions_kwargs"]["price_per_token"] == pytest.approx(10.0 / 1e6)  # prices.yaml, input rate
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "sk-secret-value" not in written
    with pytest.raises(ValueError, match="judge=openai"):
        endpoint_annotator({"annotator": "weighted_alpaca_eval_gpt4_turbo"}, {"kind": "local"}, tmp_path)
    with pytest.raises(FileNotFoundError, match="not 'mosaic'"):
        endpoint_annotator({"annotator": "no_such_annotator"}, judge, tmp_path)


@pytest.fixture(scope="module")
def mM_judge(tmp_path_factory, tokenizer):
    """A tiny Llama whose next token is almost always "m" or "M", with P(m) about 3x P(M) (0.756 of the two), whatever the
    prompt: the residual stream carries a constant in one dimension that only those two output rows read.
    A real model behind the real server, so alpaca_eval's logprob parser has real top_logprobs to weigh."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=4096, tie_word_embeddings=False))
    d, m, M = 0, tokenizer.convert_tokens_to_ids("m"), tokenizer.convert_tokens_to_ids("M")
    with torch.no_grad():
        model.model.embed_tokens.weight[:, d] = 50.0
        for layer in model.model.layers:  # nothing writes into dimension d: it stays 50 at every position
            layer.self_attn.o_proj.weight[d] = 0.0
            layer.mlp.down_proj.weight[d] = 0.0
        model.lm_head.weight.zero_()
        model.lm_head.weight[m, d], model.lm_head.weight[M, d] = 1.0, 0.8
    path = tmp_path_factory.mktemp("mM") / "judge"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_the_official_weighted_annotator_runs_end_to_end_against_the_server(tmp_path, mM_judge, tiny_checkpoint,
                                                                             monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    reference = tmp_path / "reference.json"
    rows = official_shaped()[:4]
    reference.write_text(json.dumps(rows))
    with serve(str(mM_judge), template="chat_template", served_name=OFFICIAL_JUDGE, extra=["--no-bf16"]) as url:
        ctx = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval",
                          model_id="tiny", generation={"max_new_tokens": 8},
                          judge_cfg={"kind": "openai", "model": OFFICIAL_JUDGE, "base_url": url, "api_key_env": "",
                                     "max_retries": 0, "backoff": 0.0, "timeout": 60.0, "concurrency": 2,
                                     "price_per_million": {"input": 1e6, "output": 0.0}})  # 1 USD per token
        res = get_adapter("alpaca_eval")(ctx, {"eval_set": str(reference),
                                               "annotator": "weighted_alpaca_eval_gpt4_turbo"})
    annotations = json.loads((tmp_path / "eval" / "alpaca_eval" / "annotations.json").read_text())
    prefs = [a["preference"] for a in annotations]
    assert len(prefs) == 4 and all(1.0 < p < 2.0 for p in prefs)  # weighted by logprobs, not a parsed letter
    # P("m") / (P("m") + P("M")) = sigmoid(0.2 * 50 / rms) = 0.756 here; either order of the two outputs
    assert all(min(abs(p - 1.756), abs(p - 1.244)) < 0.02 for p in prefs), prefs
    assert res.metrics["alpaca_eval/n_judged"] == 4 and 0.0 < res.metrics["alpaca_eval/win_rate"] < 100.0
    assert res.info["annotator"] == "weighted_alpaca_eval_gpt4_turbo"
    # spending from alpaca_eval's own accounting: at 1 USD a token, the estimate is the tokens the server counted
    assert res.metrics["judge_usage/alpaca_eval/calls"] == 4
    assert res.metrics["judge_usage/alpaca_eval/usd_estimate"] == sum(a["preference_price_per_example"]
                                                                       for a in annotations) > 4 * 50
    assert "OPENAI_API_KEY" not in os.environ  # the key was only set for the call
