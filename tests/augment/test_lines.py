"""JSON lines assembled from escaped pieces are exactly ``json.dumps(sample, ensure_ascii=False)``."""
import json

import pytest

from mosaic.augment.budget import TokenCounter
from mosaic.augment.engine import AugmentConfig, MosaicBuilder, RowStore
from mosaic.augment.lines import Escaper, escape, escape_utf8
from mosaic.augment.sample import Item
from mosaic.data.records import Example
from mosaic.data.templates import get_template

TRICKY = ["plain words here", 'a "quoted" word', "back\\slash and \\u00e9 literal", "del\x7f char",
          "ctl\x01 tab\t cr\r nl\n end", "caf\u00e9 \u4e2d\u6587", "emoji \U0001f600 face", "line\u2028sep",
          "</s> <|im_end|> specials", "it's 3.14, isn't it?"]


def tricky_examples(n=60):
    for i in range(n):
        a, b = TRICKY[i % len(TRICKY)], TRICKY[(i * 3 + 1) % len(TRICKY)]
        yield Example(id=f'id"{i}\\', instruction=f"{a} task {i}", input=b if i % 2 else "",
                      output=f"{b} answer {i} " + a * (1 + i % 4), source="s\u00e9")


def test_escape_matches_json_dumps():
    for t in TRICKY + ["", " ", "\\", '"']:
        assert f'"{escape(t)}"' == json.dumps(t, ensure_ascii=False)
        assert escape_utf8(t) == escape(t).encode() == Escaper()[t]


def test_stored_output_kept_escaped_decodes():
    it = Item("x", "p", "", 1, 1, "", b"p", escape_utf8('say "hi"\n\u00e9'))
    assert it.output_text == 'say "hi"\n\u00e9'
    assert Item("x", "p", "raw").output_text == "raw"


@pytest.mark.parametrize("in_memory_bytes", [None, 500])  # in memory, and spilled to the row file
def test_lines_equal_json_dumps_of_the_samples(tmp_path, tokenizer, in_memory_bytes):
    cfg = AugmentConfig(max_tokens=300, passes=2, seed=1, wrap_mode="uniform")
    counter = TokenCounter(tokenizer, get_template(cfg.template))
    store = RowStore.build(tricky_examples(), counter, tmp_path, in_memory_bytes=in_memory_bytes)
    assert (store._items is None) == (in_memory_bytes is not None)
    try:
        builder = MosaicBuilder(store, counter, cfg)
        for e in range(cfg.passes):
            lines = [line for line, *_ in builder.iter_lines(e)]
            samples = list(builder.iter_pass(e))
            assert len(lines) == len(samples) > 10
            assert lines == [json.dumps(s, ensure_ascii=False).encode() for s in samples]
    finally:
        store.close()
