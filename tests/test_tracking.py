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


def test_configured_uri_wins_over_the_environment(monkeypatch, tmp_path):
    from mosaic.tracking import tracking_uri

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri("sqlite:////x/y.db", tmp_path) == "sqlite:////x/y.db"
    assert tracking_uri(None, tmp_path) == "http://127.0.0.1:5000"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
