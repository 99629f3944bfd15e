import json
import re

import pytest

from mosaic.data.errors import DataError, ErrorReport
from mosaic.data.loaders import load_examples, load_records
from mosaic.data.records import Conversation, Example


def test_alpaca_jsonl_and_json_array_give_same_examples(tmp_path, write_jsonl):
    rows = [{"instruction": "Add 2 and 3.", "input": "", "output": "5"},
            {"instruction": "Translate.", "input": "Bonjour", "output": "Hello", "id": 7}]
    a = list(load_examples(write_jsonl(rows)))
    p = tmp_path / "data.json"
    p.write_text(json.dumps(rows, indent=2))
    b = list(load_examples(p))
    assert [(e.instruction, e.input, e.output) for e in a] == [(e.instruction, e.input, e.output) for e in b]
    assert a[1].id == "7" and a[0].id == "data-1"
    assert a[1].prompt == "Translate.\nBonjour" and a[0].prompt == "Add 2 and 3."


def test_missing_input_is_empty_and_null_input_allowed(write_jsonl):
    ex = list(load_examples(write_jsonl([{"instruction": "a", "output": "b"}, {"instruction": "c", "input": None, "output": "d"}])))
    assert [e.input for e in ex] == ["", ""]


def test_sharegpt_and_messages(write_jsonl):
    sg = write_jsonl([{"id": "c1", "conversations": [{"from": "system", "value": "Be brief."},
                                                     {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"},
                                                     {"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]}], "sg.jsonl")
    conv = next(load_records(sg))
    assert isinstance(conv, Conversation) and conv.system == "Be brief."
    assert conv.exchanges == [("Hi", "Hello"), ("2+2?", "4")]
    msgs = write_jsonl([{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}], "m.jsonl")
    (ex,) = load_examples(msgs)
    assert isinstance(ex, Example) and (ex.instruction, ex.output) == ("Q", "A")


def test_multi_turn_modes(write_jsonl):
    p = write_jsonl([{"id": "c", "conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"},
                                                   {"from": "human", "value": "c"}, {"from": "gpt", "value": "d"}]}])
    stats = {}
    assert [e.output for e in load_examples(p, stats=stats)] == ["b"]
    assert stats == {"multi_turn_conversations": 1, "exchanges_not_used": 1}
    assert [(e.id, e.output) for e in load_examples(p, multi_turn="split")] == [("c#0", "b"), ("c#1", "d")]
    with pytest.raises(DataError, match="2 exchanges"):
        list(load_examples(p, multi_turn="error"))


BAD = [
    ({"input": "", "output": "x"}, "row 2, field 'instruction': missing"),
    ({"instruction": 5, "output": "x"}, "row 2, field 'instruction': expected a string, got int"),
    ({"instruction": "  ", "output": "x"}, "row 2, field 'instruction': empty"),
    ({"instruction": "q", "output": ""}, "row 2, field 'output': empty"),
    ({"instruction": "q", "input": ["x"], "output": "y"}, "row 2, field 'input': expected a string, got list"),
    (["not", "an", "object"], "row 2: expected a JSON object, got list"),
]


@pytest.mark.parametrize("bad,message", BAD)
def test_bad_alpaca_rows_name_file_row_field(write_jsonl, bad, message):
    p = write_jsonl([{"instruction": "ok", "output": "fine"}, bad, {"instruction": "ok2", "output": "fine2"}])
    with pytest.raises(DataError) as e:
        list(load_examples(p, fmt="alpaca"))
    assert str(p) in str(e.value) and message in str(e.value)
    report = ErrorReport("skip")
    kept = list(load_examples(p, fmt="alpaca", report=report))
    assert [k.instruction for k in kept] == ["ok", "ok2"] and report.count == 1


def test_invalid_json_line_and_invalid_utf8(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n'
                  b'{"instruction": "\xff\xfe", "output": "b"}\n{"instruction": "c", "output": "d"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl, row 2: invalid JSON"):
        list(load_examples(p))
    report = ErrorReport("skip")
    assert [e.instruction for e in load_examples(p, report=report)] == ["a", "c"]
    assert report.count == 2 and "row 3: invalid UTF-8" in str(report.errors[1])


def test_invalid_utf8_inside_json_array_names_element_and_field(tmp_path):
    p = tmp_path / "bad.json"
    p.write_bytes(b'[{"instruction": "a", "output": "b"},\n {"instruction": "x", "output": "bad \xc3\x28"}]')
    with pytest.raises(DataError, match=r"row 2, field 'output': invalid UTF-8"):
        list(load_examples(p))


def test_truncated_json_array_is_an_error_with_element(tmp_path):
    p = tmp_path / "t.json"
    p.write_text('[{"instruction": "a", "output": "b"}, {"instruction": "c", "out')
    with pytest.raises(DataError, match=r"t.json, row 2: invalid JSON"):
        list(load_examples(p))


def test_json_array_streams_across_chunk_boundaries(tmp_path, monkeypatch):
    import mosaic.data.io as io

    monkeypatch.setattr(io, "CHUNK", 7)
    rows = [{"instruction": f"q{i} " + "é" * i, "output": "ü" * (i + 1)} for i in range(40)]
    p = tmp_path / "a.json"
    p.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    got = list(load_examples(p))
    assert [(e.instruction, e.output) for e in got] == [(r["instruction"], r["output"]) for r in rows]


@pytest.mark.parametrize("conv,field", [
    ([{"from": "gpt", "value": "hi"}, {"from": "human", "value": "x"}], "conversations[0].from"),
    ([{"from": "human", "value": "hi"}, {"from": "robot", "value": "x"}], "conversations[1].from"),
    ([{"from": "human", "value": "hi"}, {"from": "gpt", "value": ""}], "conversations[1].value"),
    ([{"from": "human", "value": "hi"}], "conversations"),
    ("nope", "conversations"),
])
def test_bad_conversations(write_jsonl, conv, field):
    p = write_jsonl([{"conversations": conv}])
    with pytest.raises(DataError, match=re.escape(f"row 1, field '{field}'")):
        list(load_records(p, "sharegpt"))


def test_unknown_format_row_is_reported(write_jsonl):
    with pytest.raises(DataError, match="cannot detect the format"):
        list(load_records(write_jsonl([{"prompt": "x", "completion": "y"}])))


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="input file not found"):
        load_records(tmp_path / "nope.json")
