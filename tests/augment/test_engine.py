"""The pass loop: determinism, seed sensitivity, provenance, coverage, over-budget rows, online passes."""
import hashlib
import json

import pytest

from mosaic.augment.engine import AugmentConfig
from mosaic.augment.run import augment_file
from tests.conftest import alpaca_rows


def run(tmp_path, src, name, workers=None, **cfg):
    out = tmp_path / f"{name}.jsonl"
    summary = augment_file(str(src), out, "smollm2", AugmentConfig(**cfg), progress=False, workers=workers)
    return out, summary, [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def src(write_jsonl):
    return write_jsonl(alpaca_rows(120))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, src):
    a, sa, _ = run(tmp_path, src, "a", seed=3, passes=2)
    b, sb, _ = run(tmp_path, src, "b", seed=3, passes=2)
    c, sc, _ = run(tmp_path, src, "c", seed=4, passes=2)
    assert a.read_bytes() == b.read_bytes() and sa["output_sha256"] == sb["output_sha256"]
    assert sa["output_sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()
    assert a.read_bytes() != c.read_bytes()
    assert sa["config_fingerprint"] == sb["config_fingerprint"] != sc["config_fingerprint"]


def test_parallel_passes_and_on_disk_rows_give_the_same_bytes(tmp_path, src, monkeypatch):
    import mosaic.augment.engine as engine

    a, _, _ = run(tmp_path, src, "seq", workers=1, passes=3, seed=2)
    b, sb, _ = run(tmp_path, src, "par", workers=2, passes=3, seed=2)
    monkeypatch.setattr(engine, "IN_MEMORY_BYTES", 3000)  # spills to the mmap-backed file mid-ingest
    c, _, _ = run(tmp_path, src, "disk", workers=1, passes=3, seed=2)
    assert sb["workers"] == 2
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()


def test_each_pass_uses_every_row_exactly_once(tmp_path, src):
    _, summary, samples = run(tmp_path, src, "p", passes=3, max_tokens=4000)
    assert summary["over_budget"] == 0
    for e in range(3):
        ids = [i for s in samples if s["provenance"]["pass"] == e for i in s["provenance"]["source_ids"]]
        assert sorted(ids) == sorted(f"r{i}" for i in range(120))
    assert summary["rows_used"] == 360


def test_provenance_reconstructs_the_sample(tmp_path, src):
    rows = {r["id"]: r for r in alpaca_rows(120)}
    _, _, samples = run(tmp_path, src, "prov", passes=1, max_tokens=4000)
    for s in samples:
        p = s["provenance"]
        assert p["count"] == s["count"] == len(p["source_ids"])
        assert sorted(p["order"] + p["masked"]) == list(range(s["count"]))
        outputs = [rows[i]["output"] for i in p["source_ids"]]
        positions = [s["output"].find(outputs[j]) for j in p["order"]]
        assert all(x >= 0 for x in positions) and positions == sorted(positions)
        assert all(outputs[j] not in s["output"] for j in p["masked"])
        for sid in p["source_ids"]:
            assert rows[sid]["instruction"] in s["instruction"]
        assert p["strategy"] in ("format", "permute", "maskout")
        assert (p["rule"] is None) == (p["strategy"] == "format")


def test_over_budget_rows_are_reported_not_lost(tmp_path, write_jsonl):
    rows = alpaca_rows(30)
    rows[5]["instruction"] = "word " * 400  # too long even when maskout drops its response
    _, summary, samples = run(tmp_path, write_jsonl(rows), "ob", passes=2, max_tokens=200)
    assert summary["over_budget"] == 2
    listed = [json.loads(l) for l in open(summary["over_budget_file"])]
    assert [o["id"] for o in listed] == ["r5", "r5"] and all(o["tokens_at_least"] > 200 for o in listed)
    used = {i for s in samples for i in s["provenance"]["source_ids"]}
    assert "r5" not in used and len(used) == 29


def test_online_pass_equals_offline_pass(tmp_path, src, tokenizer):
    from mosaic.augment.budget import TokenCounter
    from mosaic.augment.engine import MosaicBuilder, RowStore
    from mosaic.data.loaders import load_examples
    from mosaic.data.templates import get_template

    cfg = AugmentConfig(passes=3, seed=9)
    _, _, offline = run(tmp_path, src, "off", passes=3, seed=9)
    counter = TokenCounter(tokenizer, get_template(cfg.template))
    store = RowStore.build(load_examples(src), counter, tmp_path)
    builder = MosaicBuilder(store, counter, cfg)
    try:
        pass2 = list(builder.iter_pass(2))  # built on demand, without passes 0 and 1
    finally:
        store.close()
    assert pass2 == [s for s in offline if s["provenance"]["pass"] == 2]


def test_fix_max_fills_up_to_max_count(tmp_path, src):
    _, summary, samples = run(tmp_path, src, "fm", passes=1, wrap_mode="fix_max", max_count=4, max_tokens=4000)
    assert summary["count"]["histogram"] == {"4": 30}


def test_config_validation():
    for bad in ({"strategy": "nope"}, {"wrap_mode": "zipf"}, {"passes": 0}, {"template": "x"}, {"vocabulary": "dev"}):
        with pytest.raises(ValueError):
            AugmentConfig(**bad)
