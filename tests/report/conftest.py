"""A small MLflow store written directly (no training): three seeds of original IT and Mosaic-IT with
held-out probe curves and verifiable items, two seeds of each reviewers' baseline, one single-strategy
variant, a cost and a counts run, and a Hydra sweep with two jobs."""
import json

import pytest

JUDGE = json.dumps({"kind": "local", "model": "smollm2"})
SETTINGS = {"model": "tiny", "dataset": "bundled", "limit": 12, "epochs": 3, "mosaic_epochs": 1, "measured_steps": 2}
RATIOS = {"dynamic": 0.96, "packed": 1.16, "static_pad": 0.25}


def bench_info(acc: float) -> dict:
    rows = [{"strategy": "*", "rule": "*", "k": "*", "vocabulary": "*"}, {"strategy": "*", "rule": "*", "k": 2,
            "vocabulary": "*"}, {"strategy": "permute", "rule": "alpha", "k": "*", "vocabulary": "*"}]
    return {"info": {}, "tables": {"mosaic_bench": [
        {**r, "structure_acc": acc, "content_acc": acc / 2, "both_acc": acc / 4} for r in rows]}}


# Held-out NLL per token of every item, linear in real tokens seen: (slope per token, tokens at the end).
# Over the shared first 300 tokens original IT averages 2.0 - 0.15 = 1.85, Mosaic-IT 2.0 - 0.075 = 1.925.
CURVES = {"none": (-0.001, 300, 4), "all": (-0.0005, 330, 4), "template_random": (-1 / 3000, 300, 2),
          "none_compute_matched": (-0.2 / 330, 330, 2)}  # (slope, last point, points incl. the start)
VERIFIABLE_RIGHT = {"none": 5, "all": 8, "template_random": 8, "none_compute_matched": 4}  # of 20 items


def heldout(variant: str, seed: int) -> dict:
    slope, last, n = CURVES[variant]
    xs = [round(last * k / (n - 1)) for k in range(n)]
    return {"every_real_tokens": 100, "points": [
        {"milestone": -1 if k == n - 1 else k, "step": k, "real_tokens_seen": x, "final": k == n - 1, "seconds": 1.0,
         "sets": {"single": {"items": {f"b-{i}": [10 * (2.0 + slope * x + 0.01 * i + 0.001 * seed), 10]
                                       for i in range(8)}}}}
        for k, x in enumerate(xs)]}


def verifiable(variant: str) -> str:
    return "".join(json.dumps({"id": f"vt-{i:02d}", "family": "arith", "answer": "1", "response": "1",
                               "correct": i < VERIFIABLE_RIGHT[variant]}) + "\n" for i in range(20))


def training_metrics(variant: str, seed: int) -> dict:
    up = {"none": 0.0, "all": 1.0}.get(variant, 0.5)
    m = {"cost/device_hours": 0.01 + 0.001 * up, "cost/train_seconds": 36 + 3.6 * up, "cost/real_tokens": 1000.0 + 10 * seed,
         "alpaca_eval/win_rate": 40.0 + 10 * up + seed, "alpaca_eval/length_controlled_win_rate": 41.0 + seed,
         "alpaca_eval/parse_failure_rate": 0.1, "mt_bench/average": 2.0 + seed * 0.1, "mt_bench/turn1": 2.1,
         "mt_bench/turn2": 1.9, "mt_bench/parse_failure_rate": 0.9, "lm_eval/average": 0.3 + 0.01 * ((seed * 7 + up) % 3),
         "mosaic_bench/structure_acc": 0.1 + 0.02 * up + 0.001 * seed, "mosaic_bench/both_acc": 0.02}
    if variant != "none":
        m.update({"pairwise/winning_score": 1.4 + 0.05 * seed, "pairwise/parse_failure_rate": 0.2})
    return m


def bench_responses(variant: str, seed: int) -> str:
    """Per-item mosaic-bench results: 40 held-out-vocabulary items (Mosaic-IT right on 24, original IT
    on 4, the same items in every seed) and 8 training-vocabulary items, all right in both."""
    import json as _json

    good = 24 if variant == "all" else 4
    rows = [{"id": f"mb-h{i:02d}", "strategy": "format", "rule": "tags", "k": 2, "vocabulary": "heldout",
             "prompt": "p", "response": f"r{i}", "check": {"structure_ok": i < good, "content_ok": False}}
            for i in range(40)]
    rows += [{"id": f"mb-t{i}", "strategy": "primary", "rule": "plain", "k": 1, "vocabulary": "train", "prompt": "p",
              "response": "r", "check": {"structure_ok": True, "content_ok": True}} for i in range(8)]
    return "".join(_json.dumps(r) + "\n" for r in rows)


def lm_eval_samples(variant: str, seed: int) -> dict:
    """Per-document lm-eval scores: the two arms differ on 2 of 30 documents, one each way."""
    acc = [float(i % 3 == 0) for i in range(30)]
    if variant == "all":
        acc[1], acc[3] = 1.0, 0.0
    return {"mosaic_mc_science": [{"doc_id": i, "acc": a, "doc": {}, "target": 0, "resps": []}
                                  for i, a in enumerate(acc)]}


class Writer:
    def __init__(self, client, exp_id):
        self.client, self.exp_id, self.t = client, exp_id, 1_700_000_000_000

    def run(self, name, tags, params=None, metrics=None, artifacts=None, history=(), texts=None):
        from mlflow.entities import Metric, Param

        self.t += 1000
        r = self.client.create_run(self.exp_id, start_time=self.t, tags=tags, run_name=name)
        rid = r.info.run_id
        self.client.log_batch(rid, metrics=[Metric(k, v, self.t, 0) for k, v in (metrics or {}).items()]
                              + [Metric("train/loss", v, self.t, step) for step, v in history],
                              params=[Param(k, str(v)) for k, v in (params or {}).items()])
        for path, obj in (artifacts or {}).items():
            self.client.log_dict(rid, obj, path)
        for path, text in (texts or {}).items():
            self.client.log_text(rid, text, path)
        self.client.set_terminated(rid)
        return rid


@pytest.fixture(scope="session")
def fake_store(tmp_path_factory):
    """(tracking uri, study, {name: run id})."""
    import mlflow

    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp_id = client.create_experiment("fake-study", artifact_location=(root / "artifacts").as_uri())
    w, ids = Writer(client, exp_id), {}
    # superseded by the newer run of the same (variant, seed), and a run that never completed: both unused
    ids["old-none-s0"] = w.run("tiny-none-s0", {"variant": "none", "run_complete": "true"}, {"seed": 0},
                               {"lm_eval/average": 99.0})
    ids["unfinished"] = w.run("tiny-all-s5", {"variant": "all"}, {"seed": 5}, {"lm_eval/average": 99.0})
    for variant, seeds in (("none", (0, 1, 2)), ("all", (0, 1, 2)), ("template_random", (0, 1)),
                           ("none_compute_matched", (0, 1)), ("primary", (0,))):
        for seed in seeds:
            name = f"tiny-{variant}-s{seed}"
            tags = {"variant": variant, "seed": str(seed), "run_complete": "true", "model_id": "tiny", "judge": JUDGE,
                    "stage_layout": "2", "data_key": f"d-{variant}-{seed}", "train_key": f"t-{variant}-{seed}",
                    "run_key": f"r-{variant}-{seed}", "git_commit": "abc123", "data_hash": f"h-{variant}",
                    "checkpoint_hash": f"c-{variant}-{seed}"}
            if seed == 1:
                tags["hydra_overrides"] = json.dumps([f"augmentation={variant}", "seed=1"])
            artifacts = {"config.json": {"augmentation": {"name": variant}, "seed": seed},
                         "eval/mosaic_bench/info.json": bench_info(0.1 if variant == "none" else 0.2),
                         "eval/lm_eval/samples.json": lm_eval_samples(variant, seed)}
            texts = {"eval/mosaic_bench/responses.jsonl": bench_responses(variant, seed)}
            if variant in CURVES:
                artifacts["heldout.json"] = heldout(variant, seed)
                texts["eval/verifiable/items.jsonl"] = verifiable(variant)
            ids[name] = w.run(name, tags, {"seed": seed, "train.regime": "dynamic"}, training_metrics(variant, seed),
                              artifacts, history=[(1, 3.0), (2, 2.5), (3, 2.2 + seed * 0.01)], texts=texts)
    cost = {"settings": SETTINGS, "rows": [
        {"regime": regime, "variant": v, "sequences": 10, "steps": 3, "real_tokens": 900, "processed_tokens": 1000,
         "padding_fraction": 0.1, "tflops_executed": 1.5, "measured_processed_tokens_per_s": 1234.5, "est_hours": 0.01,
         "est_device_hours": 0.01} for regime in RATIOS for v in ("original", "mosaic")],
        "mosaic_over_original": {r: {"sequences": 0.25, "steps": 0.25, "real_tokens": 1.15, "processed_tokens": q,
                                     "flops_executed": q, "device_hours": q} for r, q in RATIOS.items()}}
    ids["cost"] = w.run("cost-comparison", {"kind": "cost", "cost_key": "k-cost", "git_commit": "abc123",
                                            "run_complete": "true"}, artifacts={"cost.json": cost})
    counts = {m: {"histogram": {"1": 3, "2": 5}, "mean": 1.6, "expected_pmf": {"1": 0.5, "2": 0.5}}
              for m in ("uniform", "exp")}
    ids["counts"] = w.run("count-distributions", {"kind": "counts", "counts_key": "k-counts", "run_complete": "true"},
                          artifacts={"counts.json": counts})
    ids["sweep"] = w.run("sweep-x", {"sweep": "true", "sweep_overrides": json.dumps(["experiment=repro_smoke"]),
                                     "sweep_params": json.dumps({"augmentation": "primary,all"}), "git_commit": "abc123"})
    for v, acc in (("primary", 0.3), ("all", 0.5)):
        ids[f"job-{v}"] = w.run(f"tiny-sweep_{v}-s0", {
            "variant": f"sweep_{v}", "mlflow.parentRunId": ids["sweep"], "run_complete": "true",
            "data_key": f"d-sw-{v}", "train_key": f"t-sw-{v}", "run_key": f"r-sw-{v}", "git_commit": "abc123"},
            {"seed": 0, "augmentation.name": v}, {"train/loss": 2.0, "cost/real_tokens": 900.0,
                                                  "cost/device_hours": 0.01, "mosaic_bench/structure_acc": acc,
                                                  "lm_eval/average": 0.3, "lm_eval/standard_error": 0.1},
            {"config.json": {"augmentation": {"name": v}}})
    return uri, "fake-study", ids
