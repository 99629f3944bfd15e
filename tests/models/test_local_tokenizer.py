"""Counting with ``tokenizers`` alone: same counts and output bytes as the Transformers tokenizer, no Torch."""
import json
import shutil
import subprocess
import sys

import pytest

from mosaic.augment.budget import TokenCounter
from mosaic.augment.engine import AugmentConfig
from mosaic.data.bundled import INSTRUCTIONS
from mosaic.data.templates import get_template
from mosaic.models.local_tokenizer import LocalTokenizer, load_local
from mosaic.models.tokenizer import load_counting_tokenizer
from tests.conftest import ROOT, alpaca_rows


@pytest.fixture(scope="module")
def tok_dir(tokenizer, tmp_path_factory):
    """A copy of the SmolLM2 tokenizer directory (converted by the ``tokenizer`` fixture)."""
    d = tmp_path_factory.mktemp("tok") / "smollm2"
    shutil.copytree(tokenizer.name_or_path, d)
    return d


def bundled_rows():
    return [json.loads(line) for line in INSTRUCTIONS.read_text(encoding="utf-8").splitlines()]


def test_default_tokenizer_loads_without_transformers():
    assert isinstance(load_counting_tokenizer("smollm2"), LocalTokenizer)


@pytest.mark.parametrize("template", ["vicuna_v1.1", "chat_template", "raw"])
def test_same_renders_and_counts_as_transformers(tokenizer, tok_dir, template):
    local, tpl = load_local(tok_dir), get_template(template)
    a, b = TokenCounter(local, tpl), TokenCounter(tokenizer, tpl)
    assert (a.overhead, a.prompt_specials) == (b.overhead, b.prompt_specials)
    rows = bundled_rows()
    texts = [r["instruction"] + "\n" + r["input"] for r in rows] + [r["output"] for r in rows]
    assert a.count_batch(texts) == b.count_batch(texts)
    for r in rows[:100]:
        assert tpl.render(local, r["instruction"], r["output"]) == tpl.render(tokenizer, r["instruction"], r["output"])
        assert tpl.encode(local, r["instruction"], r["output"]) == tpl.encode(tokenizer, r["instruction"], r["output"])


def test_chat_template_matches_transformers(tokenizer, tok_dir):
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>&</b>"},
            {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Why?"}]
    local = load_local(tok_dir)
    for gen in (True, False):
        assert local.apply_chat_template(msgs, add_generation_prompt=gen) == \
            tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)


@pytest.mark.parametrize("template", ["vicuna_v1.1", "chat_template"])
def test_bundled_output_bytes_identical_to_transformers_path(tmp_path, monkeypatch, template):
    import mosaic.augment.run as run
    from mosaic.models.tokenizer import load_tokenizer

    cfg = AugmentConfig(seed=7, passes=2, template=template)
    new = run.augment_file("bundled", tmp_path / "new.jsonl", "smollm2", cfg, progress=False)
    monkeypatch.setattr(run, "load_counting_tokenizer", load_tokenizer)  # the Transformers path
    old = run.augment_file("bundled", tmp_path / "old.jsonl", "smollm2", cfg, progress=False)
    assert (tmp_path / "new.jsonl").read_bytes() == (tmp_path / "old.jsonl").read_bytes()
    for key in ("output_sha256", "config_fingerprint", "tokenizer", "template_overhead_tokens", "budget_checks"):
        assert new[key] == old[key], key


def test_bare_tokenizer_json_file_loads(tok_dir, tokenizer):
    tok = load_local(tok_dir / "tokenizer.json")
    assert tok.eos_token == "<|im_end|>" and tok.chat_template is not None
    assert tok("Hello world", add_special_tokens=False)["input_ids"] == \
        tokenizer("Hello world", add_special_tokens=False)["input_ids"]
    alone = tok_dir.parent / "alone.json"
    shutil.copy(tok_dir / "tokenizer.json", alone)
    assert load_local(alone).eos_token is None  # no config beside it: no special tokens named


@pytest.mark.parametrize("change", [{"tokenizer_class": "LlamaTokenizer"}, {"add_bos_token": True},
                                    {"eos_token": "<not-in-the-file>"}])
def test_configs_transformers_would_rebuild_fall_back(tok_dir, tmp_path, change):
    d = tmp_path / "tok"
    shutil.copytree(tok_dir, d)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    (d / "tokenizer_config.json").write_text(json.dumps({**cfg, **change}))
    assert load_local(d) is None


def test_no_tokenizer_file_gives_none(tmp_path):
    assert load_local(tmp_path) is None
    (tmp_path / "x.json").write_text("[1, 2]")
    assert load_local(tmp_path / "x.json") is None


CHILD = """
import json, sys
from mosaic.cli import main
rc = main(["augment", "--input", sys.argv[1], "--output", sys.argv[2], "--tokenizer", sys.argv[3], "--quiet",
           "--passes", "2", "--workers", "2", "--template", sys.argv[4]])
heavy = [m for m in ("torch", "transformers", "transformers.modeling_utils", "datasets") if m in sys.modules]
print(json.dumps({"rc": rc, "heavy": heavy}))
"""


@pytest.mark.parametrize("template", ["vicuna_v1.1", "chat_template"])
def test_augment_with_local_tokenizer_dir_imports_no_torch(tok_dir, write_jsonl, tmp_path, template):
    src = write_jsonl(alpaca_rows(60))
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(src), str(out), str(tok_dir), template],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"rc": 0, "heavy": []}, proc.stderr
    assert len(out.read_text().splitlines()) > 0
