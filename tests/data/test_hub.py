"""Hub loaders run through the real ``datasets.load_dataset`` on local copies shaped like the Hub repos."""
import json

import pandas as pd
import pytest

from mosaic.data.errors import DataError
from mosaic.data.hub import HUB_DATASETS, HubUnavailable, load_hub
from mosaic.data.records import Conversation, Example


def test_registry_has_the_papers_datasets():
    assert {"alpaca_gpt4", "wizardlm_70k", "vicuna", "magpie"} <= set(HUB_DATASETS)
    assert HUB_DATASETS["alpaca_gpt4"].repo == "vicgalle/alpaca-gpt4"
    assert HUB_DATASETS["wizardlm_70k"].repo == "WizardLMTeam/WizardLM_evol_instruct_70k"


def test_alpaca_gpt4_parquet_layout(tmp_path):
    repo = tmp_path / "alpaca_gpt4" / "data"
    repo.mkdir(parents=True)
    pd.DataFrame({"instruction": ["Name a color.", "Add."], "input": ["", "2 and 2"],
                  "output": ["Blue.", "4"], "text": ["...", "..."]}).to_parquet(repo / "train-00000-of-00001.parquet")
    recs = list(load_hub("alpaca_gpt4", local_path=repo.parent, cache_dir=tmp_path / "cache"))
    assert all(isinstance(r, Example) for r in recs)
    assert [(r.instruction, r.input, r.output, r.source) for r in recs] == [
        ("Name a color.", "", "Blue.", "alpaca_gpt4"), ("Add.", "2 and 2", "4", "alpaca_gpt4")]


def test_vicuna_sharegpt_file_in_repo_dir(tmp_path):
    repo = tmp_path / "vicuna"
    repo.mkdir()
    rows = [{"id": "a_0", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}]
    (repo / HUB_DATASETS["vicuna"].data_files).write_text(json.dumps(rows))
    (conv,) = load_hub("vicuna", local_path=repo, cache_dir=tmp_path / "cache")
    assert isinstance(conv, Conversation) and conv.id == "a_0" and conv.exchanges == [("hi", "hello")]


def test_magpie_parquet_with_conversations(tmp_path):
    repo = tmp_path / "magpie" / "data"
    repo.mkdir(parents=True)
    pd.DataFrame({"uuid": ["u1"], "instruction": ["Q?"], "response": ["A."],
                  "conversations": [[{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]]}
                 ).to_parquet(repo / "train-00000-of-00001.parquet")
    (conv,) = load_hub("magpie", local_path=repo.parent, cache_dir=tmp_path / "cache")
    assert conv.id == "u1" and conv.exchanges == [("Q?", "A.")]


def test_wizardlm_single_json_file(tmp_path):
    f = tmp_path / "alpaca_evol_instruct_70k.json"
    f.write_text(json.dumps([{"instruction": "Explain X.", "output": "X is..."}]))
    (ex,) = load_hub("wizardlm_70k", local_path=f)
    assert (ex.instruction, ex.input, ex.output) == ("Explain X.", "", "X is...")


def test_bad_hub_row_names_field(tmp_path):
    repo = tmp_path / "a" / "data"
    repo.mkdir(parents=True)
    pd.DataFrame({"instruction": ["ok", "bad"], "input": ["", ""], "output": ["fine", ""]}).to_parquet(repo / "train.parquet")
    with pytest.raises(DataError, match=r"row 2, field 'output': empty"):
        list(load_hub("alpaca_gpt4", local_path=repo.parent, cache_dir=tmp_path / "cache"))


def test_offline_without_local_copy_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailable) as e:
        list(load_hub("alpaca_gpt4", cache_dir=tmp_path / "cache"))
    msg = str(e.value)
    assert "hf download vicgalle/alpaca-gpt4 --repo-type dataset" in msg
    assert str(tmp_path / "cache" / "alpaca_gpt4") in msg


def test_unknown_hub_name():
    with pytest.raises(KeyError, match="unknown hub dataset"):
        list(load_hub("nope"))
