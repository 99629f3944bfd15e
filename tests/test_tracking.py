from mosaic.tracking import REDACTED, flatten, redact


def test_redact_credential_keys_only():
    cfg = {"model": {"tokenizer": "smollm2", "max_tokens": 5},
           "judge": {"api_key": "sk-1", "api_key_env": "OPENAI_API_KEY", "hf_token": "hf_x", "base_url": "http://x"},
           "list": [{"secret": "s"}], "password": None}
    out = redact(cfg)
    assert out["model"] == {"tokenizer": "smollm2", "max_tokens": 5}
    assert out["judge"]["api_key"] == out["judge"]["hf_token"] == REDACTED and out["list"][0]["secret"] == REDACTED
    assert out["judge"]["api_key_env"] == "OPENAI_API_KEY"  # the *name* of the variable is not a secret
    assert out["judge"]["base_url"] == "http://x" and out["password"] is None


def test_flatten():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": "1", "a.c": "[1, 2]", "d": "None"}
