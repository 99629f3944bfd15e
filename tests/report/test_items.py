"""results/items/: every run's per-item outputs and scores, read back from its MLflow artifacts."""
import json

from mosaic.report.items import export_items, run_items
from mosaic.report.store import RunRecord, Store

BENCH = [{"id": "mb-2", "strategy": "format", "rule": "tags", "k": 2, "vocabulary": "heldout", "prompt": "p",
          "response": "r2", "check": {"structure_ok": True, "content_ok": False}},
         {"id": "mb-1", "strategy": "primary", "rule": "plain", "k": 1, "vocabulary": "train", "prompt": "p",
          "response": "r1", "check": {"structure_ok": False, "content_ok": False}}]
VERIFIABLE = [{"id": "vt-a", "family": "arith_add", "prompt": "p", "answer": "4", "response": "4", "correct": True}]
LM_EVAL = {"mosaic_mc_science": [{"doc_id": 1, "acc": 0.0, "doc": {}, "target": 1, "resps": []},
                                 {"doc_id": 0, "acc": 1.0, "doc": {}, "target": 0, "resps": []}]}
HELDOUT = {"every_real_tokens": 10, "points": [
    {"milestone": 0, "step": 0, "real_tokens_seen": 0, "final": False, "seconds": 1.0,
     "sets": {"single": {"nll_per_token": 2.0, "items": {"b-1": [20.0, 10]}}}},
    {"milestone": -1, "step": 3, "real_tokens_seen": 30, "final": True, "seconds": 1.0,
     "sets": {"single": {"nll_per_token": 1.5, "items": {"b-1": [15.0, 10]}}}}]}


def make_store(tmp_path):
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("items", artifact_location=(tmp_path / "art").as_uri())
    full = client.create_run(exp).info.run_id
    client.log_text(full, "".join(json.dumps(r) + "\n" for r in BENCH), "eval/mosaic_bench/responses.jsonl")
    client.log_text(full, "".join(json.dumps(r) + "\n" for r in VERIFIABLE), "eval/verifiable/items.jsonl")
    client.log_dict(full, LM_EVAL, "eval/lm_eval/samples.json")
    client.log_dict(full, HELDOUT, "heldout.json")
    bare = client.create_run(exp).info.run_id
    client.log_dict(bare, {"mosaic_mc_science": [{"doc": {}, "target": 0, "resps": []}]}, "eval/lm_eval/samples.json")
    return Store(client, exp), full, bare


def test_each_source_reads_to_sorted_rows_with_scores(tmp_path):
    store, full, bare = make_store(tmp_path)
    items = run_items(store, full)
    assert [r["id"] for r in items["mosaic_bench"]] == ["mb-1", "mb-2"]
    assert items["mosaic_bench"][1]["structure_ok"] is True and items["mosaic_bench"][1]["response"] == "r2"
    assert items["verifiable"] == [{"id": "vt-a", "family": "arith_add", "correct": True, "answer": "4",
                                    "response": "4"}]
    assert [(r["id"], r["acc"]) for r in items["lm_eval"]] == [("mosaic_mc_science/0", 1.0),
                                                              ("mosaic_mc_science/1", 0.0)]
    assert [(r["milestone"], r["nll_sum"], r["tokens"]) for r in items["heldout"]] == [(-1, 15.0, 10), (0, 20.0, 10)]
    assert run_items(store, bare) == {}  # samples without per-item scores (an older run): nothing to export


def test_export_writes_one_file_per_run_and_source_and_drops_stale_ones(tmp_path):
    store, full, bare = make_store(tmp_path)
    out = tmp_path / "items"
    (out / "gone-s9").mkdir(parents=True)
    (out / "gone-s9" / "lm_eval.jsonl").write_text("{}\n")
    training = {("all", 0): RunRecord(full, "all-s0"), ("none", 0): RunRecord(bare, "none-s0")}
    items = {k: run_items(store, r.run_id) for k, r in training.items()}
    counts = export_items(items, training, out)
    assert counts == {"all-s0": {"mosaic_bench": 2, "verifiable": 1, "lm_eval": 2, "heldout": 2}}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jsonl")) == [
        "all-s0/heldout.jsonl", "all-s0/lm_eval.jsonl", "all-s0/mosaic_bench.jsonl", "all-s0/verifiable.jsonl"]
    first = {p: p.read_bytes() for p in out.rglob("*.jsonl")}
    export_items(items, training, out)
    assert {p: p.read_bytes() for p in out.rglob("*.jsonl")} == first  # same store, same bytes
    assert json.loads((out / "all-s0" / "verifiable.jsonl").read_text())["run_id"] == full
