"""The held-out probe: per-item NLL equals the model's own loss on each item alone; points at the start,
at real-token milestones and at the end; a killed run resumes to the same points."""
import json

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mosaic.data.heldout import check_unseen, heldout_examples, trained_ids
from mosaic.data.sources import resolve_examples
from mosaic.data.templates import get_template
from mosaic.train.config import TrainConfig
from mosaic.train.features import encode
from mosaic.train.heldout import HeldoutProbe, HeldoutSet, item_nll, summarise
from mosaic.train.recipe import train


def tiny_model(vocab: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048))


@pytest.fixture(scope="module")
def encoded(tokenizer):
    tpl = get_template("vicuna_v1.1")
    return [encode(tokenizer, tpl, e.prompt, e.output) for e in list(resolve_examples("bundled"))[:8]]


@pytest.fixture(scope="module")
def heldout(tokenizer):
    tpl = get_template("vicuna_v1.1")
    ex = heldout_examples(6)
    return HeldoutSet("single", [e.id for e in ex], [encode(tokenizer, tpl, e.prompt, e.output) for e in ex])


def test_item_nll_equals_each_item_alone(tokenizer, heldout):
    model = tiny_model(len(tokenizer)).eval()
    values = item_nll(model, heldout.items, tokenizer.pad_token_id, batch_size=4)  # padded batches
    assert len({len(e) for e in heldout.items}) > 1  # unequal lengths: padding is exercised
    for (total, n), e in zip(values, heldout.items):
        with torch.no_grad():
            ref = model(input_ids=torch.tensor([e.input_ids]), labels=torch.tensor([e.labels])).loss
        assert n == e.loss_tokens
        assert total / n == pytest.approx(float(ref), rel=1e-5)
    assert summarise(values) == pytest.approx(sum(v for v, _ in values) / sum(n for _, n in values))


def test_probe_points_at_start_milestones_and_end(tokenizer, encoded, heldout, tmp_path):
    cfg = TrainConfig(lr=1e-2, warmup_ratio=0.0, batch_size=2, epochs=2)
    probe = HeldoutProbe([heldout], every=400, path=tmp_path / "h.json", pad_id=tokenizer.pad_token_id)
    state = train(tiny_model(len(tokenizer)), encoded, cfg, tokenizer.pad_token_id, probe=probe)
    points = json.loads((tmp_path / "h.json").read_text())["points"]
    seen, expected = 0, [0]
    for h in state.history:
        before, seen = seen, seen + h["real_tokens"]
        if seen // 400 > before // 400:
            expected.append(h["step"])
    if expected[-1] != state.history[-1]["step"]:
        expected.append(state.history[-1]["step"])
    assert [p["step"] for p in points] == expected and len(points) >= 4
    assert [p["final"] for p in points] == [False] * (len(points) - 1) + [True]
    assert points[0]["real_tokens_seen"] == 0 and points[-1]["real_tokens_seen"] == seen
    nll = [p["sets"]["single"]["nll_per_token"] for p in points]
    assert nll[-1] < nll[0] - 0.5  # held-out loss moves with training (lr 1e-2 on a random model)
    assert set(points[0]["sets"]["single"]["items"]) == set(heldout.ids)


def test_killed_run_resumes_to_the_same_points(tokenizer, encoded, heldout, tmp_path):
    cfg = TrainConfig(lr=1e-2, warmup_ratio=0.0, batch_size=2, epochs=2, save_every=3)
    whole = HeldoutProbe([heldout], 400, tmp_path / "whole.json", tokenizer.pad_token_id)
    train(tiny_model(len(tokenizer)), encoded, cfg, tokenizer.pad_token_id, probe=whole)

    def kill(record):
        if record["step"] == 5:
            raise KeyboardInterrupt

    path, ckpt = tmp_path / "resumed.json", tmp_path / "c.pt"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(len(tokenizer)), encoded, cfg, tokenizer.pad_token_id, checkpoint=ckpt, on_step=kill,
              probe=HeldoutProbe([heldout], 400, path, tokenizer.pad_token_id))
    train(tiny_model(len(tokenizer)), encoded, cfg, tokenizer.pad_token_id, checkpoint=ckpt,
          probe=HeldoutProbe([heldout], 400, path, tokenizer.pad_token_id))
    a, b = (json.loads(p.read_text())["points"] for p in (tmp_path / "whole.json", path))
    assert [(p["step"], p["real_tokens_seen"]) for p in a] == [(p["step"], p["real_tokens_seen"]) for p in b]
    for p, q in zip(a, b):
        assert p["sets"]["single"]["nll_per_token"] == pytest.approx(q["sets"]["single"]["nll_per_token"], rel=1e-5)


def test_heldout_examples_are_disjoint_from_training_subsets():
    held = heldout_examples(64)
    ids = {e.id for e in held}
    assert len(ids) == 64
    small = list(resolve_examples("bundled@564"))
    check_unseen(held, [{"id": e.id} for e in small], "bundled@564")  # 564 + 64 = 628: disjoint
    big = [{"id": e.id} for e in resolve_examples("bundled@565")]
    with pytest.raises(ValueError, match=r"bundled@565: 1 held-out example\(s\) are in the training data"):
        check_unseen(held, big, "bundled@565")


def test_trained_ids_read_mosaic_provenance():
    samples = [{"id": "m1", "provenance": {"source_ids": ["a", "b"]}}, {"id": "c"}]
    assert trained_ids(samples) == {"a", "b", "c"}


def test_the_start_point_is_measured_once_per_weights_and_sets(tokenizer, encoded, heldout, tmp_path):
    """A second run from the same weights reads the start point back (same numbers, seconds 0); other
    held-out sets get a different cache key (mosaic/probe.py: start_key)."""
    from mosaic.probe import start_key

    cfg = TrainConfig(lr=1e-2, warmup_ratio=0.0, batch_size=2, epochs=1)
    cache = tmp_path / "start.json"
    first = HeldoutProbe([heldout], every=10**9, path=tmp_path / "a.json", pad_id=tokenizer.pad_token_id,
                         start_cache=cache)
    train(tiny_model(len(tokenizer)), encoded, cfg, tokenizer.pad_token_id, probe=first)
    second = HeldoutProbe([heldout], every=10**9, path=tmp_path / "b.json", pad_id=tokenizer.pad_token_id,
                          start_cache=cache)
    train(tiny_model(len(tokenizer)), encoded, cfg, tokenizer.pad_token_id, probe=second)
    a, b = (json.loads((tmp_path / n).read_text())["points"] for n in ("a.json", "b.json"))
    assert [p["milestone"] for p in b] == [0, -1] and b[0]["cached"] == "start.json" and b[0]["seconds"] == 0
    assert b[0]["sets"] == a[0]["sets"] and b[-1]["sets"] == a[-1]["sets"]
    model_cfg = {"model": {"name": "tiny"}}
    other = HeldoutSet("single", heldout.ids[:2], heldout.items[:2])
    assert start_key(model_cfg, [heldout], "fp32", 8) == start_key(model_cfg, [heldout], "fp32", 8)
    assert len({start_key(model_cfg, [heldout], "fp32", 8), start_key(model_cfg, [other], "fp32", 8),
                start_key(model_cfg, [heldout], "bf16", 8), start_key(model_cfg, [heldout], "fp32", 4)}) == 4
