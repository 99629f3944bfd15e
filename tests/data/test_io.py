import pytest

from mosaic.data.io import atomic_open, file_sha256, write_jsonl


def test_atomic_open_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_write_jsonl_and_hash(tmp_path):
    p = tmp_path / "sub" / "x.jsonl"
    assert write_jsonl(p, [{"a": 1}, {"b": "é"}]) == 2
    assert p.read_text(encoding="utf-8") == '{"a": 1}\n{"b": "é"}\n'
    assert len(file_sha256(p)) == 64
