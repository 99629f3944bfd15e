"""lm-eval task lists: parsing, the shipped suites, groups scored with lm-eval's own aggregation, the
pre-flight data check, and failure isolation, with the real lm-eval on the smoke model and task YAMLs
written here in lm-eval's layout."""
import json

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from evaluation.adapters import get_adapter
from evaluation.context import EvalContext
from evaluation.lm_eval_tasks import SUITES, TaskSpec, bundled_task_dir, hub_cached, parse_spec, selected_specs

GROUP = """group: two_mc
task: [mosaic_mc_arithmetic, mosaic_mc_science]
aggregate_metric_list:
  - {metric: acc, weight_by_size: true}
metadata: {version: 1.0}
"""


def broken_task(directory, data_text: str, name: str = "broken_mc", dataset_path: str = "json"):
    """A task in the bundled tasks' layout whose data file holds ``data_text``."""
    data = directory / f"{name}.jsonl"
    data.write_text(data_text)
    (directory / f"{name}.yaml").write_text(
        f"task: {name}\ndataset_path: {dataset_path}\ndataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data))}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: \"Question: {{question}}\\nAnswer:\"\n"
        "doc_to_choice: \"{{choices}}\"\ndoc_to_target: label\n"
        "metric_list:\n  - {metric: acc, aggregation: mean, higher_is_better: true}\nmetadata: {version: 1.0}\n")


@pytest.fixture
def ctx(tiny_checkpoint, tmp_path):
    return EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval",
                       model_id="tiny-smoke")


def test_task_specs_parse_from_strings_mappings_and_hydra_overrides():
    assert parse_spec("mmlu", "t") == TaskSpec("mmlu")
    assert parse_spec("arc_challenge:25:acc_norm", "t") == TaskSpec("arc_challenge", 25, "acc_norm")
    assert parse_spec("gsm8k:5:exact_match:strict-match", "t") == TaskSpec("gsm8k", 5, "exact_match", "strict-match")
    assert parse_spec({"task": "hellaswag", "shots": 10}, "t") == TaskSpec("hellaswag", 10)
    override = OverridesParser.create().parse_override("eval.lm_eval.tasks=[arc_challenge:25:acc_norm,mmlu:5]")
    assert selected_specs({"tasks": override.value()}) == ("tasks", (TaskSpec("arc_challenge", 25, "acc_norm"),
                                                                     TaskSpec("mmlu", 5)))
    for bad, says in (("a:b:c:d:e", "not name"), ("arc:-1", "shots must be"), ("arc:x", "shots must be"),
                      ({"task": "arc", "shot": 5}, "a task mapping takes"), (3, "expected a task name")):
        with pytest.raises(ValueError, match=says):
            parse_spec(bad, "eval.lm_eval.tasks[0]")
    with pytest.raises(ValueError, match=r"names \['mmlu'\] more than once"):
        selected_specs({"tasks": ["mmlu", "mmlu:5"]})
    with pytest.raises(ValueError, match="eval.lm_eval.suite must be one of"):
        selected_specs({"suite": "openllm_v9"})


def test_the_leaderboard_suite_is_the_six_with_their_shots_and_metrics():
    assert [(s.name, s.shots, s.metric, s.filter) for s in SUITES["openllm_v1"]] == [
        ("arc_challenge", 25, "acc_norm", "none"), ("hellaswag", 10, "acc_norm", "none"), ("mmlu", 5, "acc", "none"),
        ("truthfulqa_mc2", 0, "acc", "none"), ("winogrande", 5, "acc", "none"),
        ("gsm8k", 5, "exact_match", "strict-match")]


def test_preflight_names_missing_hub_datasets_before_the_model_loads(ctx):
    """Here (no Hub, empty caches) the leaderboard suite stops before any model work, naming each dataset,
    MMLU's through its group and tags."""
    expected = {"allenai/ai2_arc", "Rowan/hellaswag", "cais/mmlu", "allenai/winogrande", "openai/gsm8k"}
    if any(hub_cached(p, None) for p in expected):
        pytest.skip("some leaderboard datasets are cached on this machine")
    with pytest.raises(FileNotFoundError, match="data missing before any model work") as err:
        get_adapter("lm_eval")(ctx, {"suite": "openllm_v1"})
    for path in expected:
        assert f"Hub dataset {path}" in str(err.value)
    assert "mmlu_abstract_algebra" in str(err.value) and "57 in all" in str(err.value)
    assert "mmlu_abstract_algebra" in str(err.value) and "eval.lm_eval.download=true" in str(err.value)
    assert "model" not in vars(ctx) and "tokenizer" not in vars(ctx)


def test_preflight_names_unknown_tasks_tags_and_missing_local_files(ctx, tmp_path):
    run = get_adapter("lm_eval")
    with pytest.raises(ValueError, match=r"'mosaic_mc_arithmatic' is not an lm-eval task.*mosaic_mc_arithmetic"):
        run(ctx, {"tasks": ["mosaic_mc_arithmatic"]})
    with pytest.raises(ValueError, match="'ai2_arc' is a tag"):
        run(ctx, {"tasks": ["ai2_arc"]})
    broken_task(tmp_path, "")
    (tmp_path / "broken_mc.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match=r"local file\(s\).*broken_mc.jsonl.*needed by broken_mc"):
        run(ctx, {"tasks": ["mosaic_mc_science", "broken_mc"], "include_path": [str(tmp_path)]})
    assert "model" not in vars(ctx)


def test_a_group_of_two_bundled_tasks_is_scored_with_lm_evals_aggregate(ctx, tmp_path):
    (tmp_path / "two_mc.yaml").write_text(GROUP)
    res = get_adapter("lm_eval")(ctx, {"tasks": ["two_mc:0", "mosaic_mc_arithmetic:0:acc"],
                                       "include_path": [str(tmp_path)], "limit": 5, "batch_size": 4})
    group, single = res.tables["lm_eval"]
    assert group["task"] == "two_mc" and group["subtasks"] == 2 and group["n"] == 10 and group["metric"] == "acc"
    samples = json.loads((ctx.out_dir / "lm_eval" / "samples.json").read_text())
    assert sorted(samples) == ["mosaic_mc_arithmetic", "mosaic_mc_science"]
    items = [s["acc"] for s in samples["mosaic_mc_arithmetic"] + samples["mosaic_mc_science"]]
    assert group["value"] == pytest.approx(sum(items) / 10)  # size-weighted: the mean over the ten documents
    assert single["value"] == pytest.approx(sum(s["acc"] for s in samples["mosaic_mc_arithmetic"]) / 5)
    assert res.metrics["lm_eval/two_mc/acc"] == group["value"]
    assert res.metrics["lm_eval/average"] == pytest.approx((group["value"] + single["value"]) / 2)
    assert res.info["failed"] == {} and res.info["suite"] == "tasks"


def test_the_bundled_group_ships_with_the_tasks(tmp_path):
    tasks = bundled_task_dir(tmp_path)
    assert "group: mosaic_mc" in (tasks / "mosaic_mc.yaml").read_text()


def test_a_failing_task_keeps_the_others_and_a_rerun_redoes_only_it(tiny_checkpoint, tmp_path, capsys):
    """Through the evaluation runner with a real MLflow store: the finished tasks are logged, the adapter is
    marked failed naming the task and its error; after the data is fixed, a rerun reuses what finished."""
    import mlflow

    from evaluation import run as evaluation_run

    tasks = tmp_path / "tasks"
    tasks.mkdir()
    broken_task(tasks, "{not json\n")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("lm", artifact_location=str(tmp_path / "art"))).info.run_id
    lm_cfg = {"adapter": "lm_eval", "tasks": ["mosaic_mc_arithmetic:0", "broken_mc:0", "mosaic_mc_science:0"],
              "include_path": [str(tasks)], "limit": 4, "batch_size": 4}
    cfg = {"run_name": "r", "seed": 0, "model": {"template": "vicuna_v1.1"}, "train": {}, "generation": {},
           "tracking": {"uri": uri}, "eval": {"lm_eval": lm_cfg}, "judge": {"kind": "local"}}
    work = tmp_path / "work"
    with pytest.raises(evaluation_run.EvaluationFailed, match=r"lm_eval: AdapterFailed: 1 of 3 lm-eval task\(s\) "
                                                              r"failed: broken_mc: "):
        evaluation_run._run_adapters(cfg, tiny_checkpoint, None, work, tmp_path, run_id)
    data = client.get_run(run_id).data
    assert {"lm_eval/mosaic_mc_arithmetic/acc", "lm_eval/mosaic_mc_science/acc"} <= set(data.metrics)
    assert "lm_eval/average" not in data.metrics  # not an average of the suite
    assert data.tags["eval_status/lm_eval"] == "failed" and "broken_mc" in data.tags["eval_error/lm_eval"]
    partial = json.loads((work / "lm_eval.partial.json").read_text())
    assert [r["task"] for r in partial["tables"]["lm_eval"]] == ["mosaic_mc_arithmetic", "mosaic_mc_science"]
    assert (work / "lm_eval" / "tasks" / "broken_mc.error.txt").exists()

    broken_task(tasks, "".join(json.dumps({"question": f"{i} + 1 =", "choices": [str(i + 1), str(i + 2)],
                                           "label": 0}) + "\n" for i in range(4)))
    capsys.readouterr()
    evaluation_run._run_adapters(cfg, tiny_checkpoint, None, work, tmp_path, run_id)
    printed = capsys.readouterr().out
    assert "mosaic_mc_arithmetic: finished earlier, reused" in printed
    assert "mosaic_mc_science: finished earlier, reused" in printed and "broken_mc: acc = " in printed
    result = json.loads((work / "lm_eval.result.json").read_text())
    assert [r["task"] for r in result["tables"]["lm_eval"]] == ["mosaic_mc_arithmetic", "broken_mc", "mosaic_mc_science"]
    assert result["metrics"]["lm_eval/average"] == pytest.approx(
        sum(r["value"] for r in result["tables"]["lm_eval"]) / 3)

    broken_task(tasks, "".join(json.dumps({"question": f"{i} + 2 =", "choices": [str(i + 1), str(i + 2)],
                                           "label": 1}) + "\n" for i in range(4)))  # its data changed
    capsys.readouterr()
    evaluation_run._run_adapters(cfg, tiny_checkpoint, None, work, tmp_path, run_id)
    printed = capsys.readouterr().out
    assert "broken_mc: acc = " in printed and "broken_mc: finished earlier" not in printed
    assert "mosaic_mc_science: finished earlier, reused" in printed


NESTED = """group: nested_mc
task:
  - {group: two_mc, num_fewshot: 0}
  - task: inline_arith
    dataset_path: json
    dataset_kwargs: {data_files: {test: DATA}}
    test_split: test
    output_type: multiple_choice
    doc_to_text: "Q: {{question}}\\nA:"
    doc_to_choice: "{{choices}}"
    doc_to_target: label
    metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]
aggregate_metric_list:
  - {metric: acc, weight_by_size: true}
metadata: {version: 1.0}
"""


def test_nested_groups_are_walked_as_lm_eval_builds_them(ctx, tmp_path):
    """A registered group with overrides and a task defined inline (named group::task by lm-eval) are both
    found by the pre-flight, and the group's documents are all counted."""
    from evaluation.data import DATA_DIR

    (tmp_path / "two_mc.yaml").write_text(GROUP)
    data = DATA_DIR / "mc" / "mosaic_mc_arithmetic" / "test.jsonl"
    (tmp_path / "nested_mc.yaml").write_text(NESTED.replace("DATA", json.dumps(str(data))))
    res = get_adapter("lm_eval")(ctx, {"tasks": ["nested_mc"], "include_path": [str(tmp_path)], "limit": 3})
    (row,) = res.tables["lm_eval"]
    assert row["subtasks"] == 3 and row["n"] == 9 and row["shots"] == 0
    samples = json.loads((ctx.out_dir / "lm_eval" / "samples.json").read_text())
    assert sorted(samples) == ["mosaic_mc_arithmetic", "mosaic_mc_science", "nested_mc::inline_arith"]
    assert row["value"] == pytest.approx(sum(s["acc"] for v in samples.values() for s in v) / 9)
    assert row["stderr"] is not None and row["stderr"] > 0  # the mean's standard error, from the items


def test_preflight_refuses_groups_without_a_score_and_undeclared_metrics_or_filters(ctx):
    run = get_adapter("lm_eval")
    with pytest.raises(ValueError, match="'openllm' is a group with no aggregate score"):
        run(ctx, {"tasks": ["openllm"]})
    with pytest.raises(ValueError, match=r"'gsm8k' has filters \['strict-match', 'flexible-extract'\]: name one"):
        run(ctx, {"tasks": ["gsm8k:5:exact_match"]})
    with pytest.raises(ValueError, match=r"'arc_challenge' reports metrics \['acc', 'acc_norm'\], not 'f1'"):
        run(ctx, {"tasks": ["arc_challenge:25:f1"]})
    with pytest.raises(ValueError, match=r"group 'mmlu' aggregates \['acc'\], not 'acc_norm'"):
        run(ctx, {"tasks": ["mmlu:5:acc_norm"]})
    assert "model" not in vars(ctx)


def test_metric_names_are_valid_for_mlflow():
    from evaluation.adapters.lm_eval import metric_name

    assert metric_name({"task": "humaneval", "metric": "pass@1"}) == "lm_eval/humaneval/pass_1"
    assert metric_name({"task": "g::t", "metric": "exact_match", "filter": "strict-match"}) == \
        "lm_eval/g__t/exact_match/strict-match"


def test_preflight_checks_hub_data_files_of_local_builders(ctx):
    """lm-eval's arithmetic tasks read JSON files by hf:// URL: the repository must be in the Hub cache."""
    if hub_cached("EleutherAI/arithmetic", None):
        pytest.skip("EleutherAI/arithmetic is cached on this machine")
    with pytest.raises(FileNotFoundError, match=r"Hub dataset EleutherAI/arithmetic: needed by arithmetic_2da"):
        get_adapter("lm_eval")(ctx, {"tasks": ["arithmetic_2da"]})
