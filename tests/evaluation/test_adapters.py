"""Each adapter end to end on the smoke model with the real libraries and the real local judge
(SmolLM2-135M-Instruct), on small files in the official formats written here."""
import json

import pytest

from evaluation.adapters import get_adapter
from evaluation.adapters.pairwise import outcome, parse_grades, winning_score
from evaluation.context import EvalContext

AE_ROWS = [  # AlpacaEval's reference format: a JSON array of {instruction, output, generator, dataset}
    {"instruction": "Name the largest planet in the solar system.", "output": "Jupiter is the largest planet.",
     "generator": "test-reference", "dataset": "test"},
    {"instruction": "Give one synonym for 'happy'.", "output": "Cheerful.", "generator": "test-reference",
     "dataset": "test"},
    {"instruction": "What is 7 times 6?", "output": "7 x 6 = 42.", "generator": "test-reference", "dataset": "test"},
]
MT_QUESTIONS = [  # FastChat's question.jsonl format
    {"question_id": 9001, "category": "writing", "turns": ["Write one sentence about autumn.",
                                                          "Now rewrite it for a five-year-old."]},
    {"question_id": 9002, "category": "math", "turns": ["What is 15 + 27?", "Now double that result."]},
]
MT_REFERENCE = {"question_id": 9002, "answer_id": "ref-9002", "model_id": "gpt-4", "tstamp": 0.0,
                "choices": [{"index": 0, "turns": ["15 + 27 = 42.", "Doubling 42 gives 84."]}]}


@pytest.fixture(scope="module")
def ctx(tiny_checkpoint, tmp_path_factory, shipped_judges):
    return EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path_factory.mktemp("eval"),
                       model_id="tiny-smoke", generation={"max_new_tokens": 16},
                       judge_cfg={**shipped_judges["local"], "max_tokens": 48})


def test_alpaca_eval_end_to_end(ctx, tmp_path):
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(AE_ROWS))
    res = get_adapter("alpaca_eval")(ctx, {"eval_set": str(path), "max_new_tokens": 16})
    m = res.metrics
    assert m["alpaca_eval/n_judged"] + m["alpaca_eval/parse_failures"] == 3
    assert 0 <= m["alpaca_eval/win_rate"] <= 100 and 0 <= m["alpaca_eval/parse_failure_rate"] <= 1
    outputs = json.loads((ctx.out_dir / "alpaca_eval" / "model_outputs.json").read_text())
    assert [o["instruction"] for o in outputs] == [r["instruction"] for r in AE_ROWS]
    assert {o["generator"] for o in outputs} == {"tiny-smoke"}
    assert res.info["judge"]["model"] == "SmolLM2-135M-Instruct" and res.info["template"] == "vicuna_v1.1"


def test_alpaca_eval_rejects_a_malformed_set(ctx, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"instruction": "x"}]))
    with pytest.raises(ValueError, match=r"row 0: field 'output'"):
        get_adapter("alpaca_eval")(ctx, {"eval_set": str(path)})


def test_mt_bench_end_to_end_in_fastchat_layout(ctx, tmp_path):
    from evaluation.data import DATA_DIR

    data = tmp_path / "data"
    (data / "mt_bench" / "reference_answer").mkdir(parents=True)
    (data / "mt_bench" / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in MT_QUESTIONS))
    (data / "mt_bench" / "reference_answer" / "gpt-4.jsonl").write_text(json.dumps(MT_REFERENCE) + "\n")
    (data / "judge_prompts.jsonl").write_text((DATA_DIR / "mt_bench" / "judge_prompts.jsonl").read_text())
    res = get_adapter("mt_bench")(ctx, {"questions": "official", "data_dir": str(data), "max_new_tokens": 16,
                                        "judge_max_tokens": 48})
    m = res.metrics
    assert m["mt_bench/n_judged"] + m["mt_bench/parse_failures"] == 4  # the weak local judge rarely parses
    judgments = [json.loads(l) for l in (ctx.out_dir / "mt_bench" / "model_judgment").glob("*_single.jsonl")
                 .__next__().read_text().splitlines()]
    assert sorted((j["question_id"], j["turn"]) for j in judgments) == [(9001, 1), (9001, 2), (9002, 1), (9002, 2)]
    assert {j["judge"][1] for j in judgments} == {"single-v1", "single-math-v1", "single-v1-multi-turn",
                                                  "single-math-v1-multi-turn"}
    answers = [json.loads(l) for l in (ctx.out_dir / "mt_bench" / "model_answer" / "tiny-smoke.jsonl")
               .read_text().splitlines()]
    assert all(len(a["choices"][0]["turns"]) == 2 for a in answers)
    # FastChat's own result reader accepts our files
    from fastchat.llm_judge.common import load_single_model_judgments
    loaded = load_single_model_judgments(str(next((ctx.out_dir / "mt_bench" / "model_judgment").glob("*.jsonl"))))
    assert loaded


def test_mt_bench_judges_in_one_batch_then_replays_from_the_cache(ctx, tmp_path):
    """FastChat asks the judge one prompt at a time; the adapter collects the prompts first and the local
    judge completes them in one batched call, so FastChat's real play makes no further model call."""
    from evaluation.data import DATA_DIR

    data = tmp_path / "data"
    (data / "mt_bench" / "reference_answer").mkdir(parents=True)
    questions = [dict(q, turns=[t + " Be brief." for t in q["turns"]]) for q in MT_QUESTIONS]  # not cached yet
    (data / "mt_bench" / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    (data / "mt_bench" / "reference_answer" / "gpt-4.jsonl").write_text(json.dumps(MT_REFERENCE) + "\n")
    (data / "judge_prompts.jsonl").write_text((DATA_DIR / "mt_bench" / "judge_prompts.jsonl").read_text())
    judge = ctx.judge
    calls, cached = judge.generator.model_calls, len(judge.cache.entries)
    res = get_adapter("mt_bench")(ctx, {"questions": "official", "data_dir": str(data), "max_new_tokens": 8,
                                        "judge_max_tokens": 24})
    assert judge.generator.model_calls - calls == 1  # 4 judge prompts, batch size 8
    assert len(judge.cache.entries) - cached == 4
    assert res.metrics["mt_bench/n_judged"] + res.metrics["mt_bench/parse_failures"] == 4


def test_mt_bench_names_a_missing_reference(ctx, tmp_path):
    data = tmp_path / "data"
    (data / "mt_bench" / "reference_answer").mkdir(parents=True)
    (data / "mt_bench" / "question.jsonl").write_text(json.dumps(MT_QUESTIONS[1]) + "\n")
    (data / "mt_bench" / "reference_answer" / "gpt-4.jsonl").write_text("")
    from evaluation.data import DATA_DIR
    (data / "judge_prompts.jsonl").write_text((DATA_DIR / "mt_bench" / "judge_prompts.jsonl").read_text())
    with pytest.raises(ValueError, match=r"no reference answer for questions \[9002\]"):
        get_adapter("mt_bench")(ctx, {"questions": "official", "data_dir": str(data), "max_new_tokens": 4})


@pytest.mark.parametrize("text,grades", [("7 5\nbecause", (7, 5)), ("  8/10, 10/10", (8, 10)), ("**6 9**", (6, 9)),
                                         ("Assistant 1 is better", None), ("", None), ("11 3", None)])
def test_pairwise_grade_parsing(text, grades):
    assert parse_grades(text) == grades


def test_pairwise_outcomes_and_winning_score():
    assert outcome((8, 5), (5, 8)) == "win"  # wins in both orders
    assert outcome((8, 5), (6, 6)) == "win"  # win + tie
    assert outcome((8, 5), (8, 5)) == "tie"  # position bias: wins as Assistant 1 only
    assert outcome((4, 5), (5, 5)) == "lose"
    assert winning_score(["win", "win", "tie", "lose"]) == pytest.approx(1.25)
    assert winning_score(["tie"] * 3) == 1.0


@pytest.fixture
def scripted_ctx(tiny_checkpoint, tmp_path, scripted_judge, shipped_judges):
    return EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval",
                       model_id="tiny-smoke", generation={"max_new_tokens": 8},
                       judge_cfg={**shipped_judges["openai"], "model": "scripted", "base_url": scripted_judge,
                                  "api_key_env": "", "max_retries": 0})


def test_alpaca_eval_win_rate_through_an_endpoint_judge(scripted_ctx, tmp_path):
    path = tmp_path / "reference.json"
    path.write_text(json.dumps([{**r, "output": r["output"] + " [ref]"} for r in AE_ROWS]))
    m = get_adapter("alpaca_eval")(scripted_ctx, {"eval_set": str(path), "max_new_tokens": 8}).metrics
    assert m["alpaca_eval/n_judged"] == 3 and m["alpaca_eval/parse_failures"] == 0
    assert m["alpaca_eval/win_rate"] == 0.0  # the judge always prefers the reference, in either order
    again = get_adapter("alpaca_eval")(scripted_ctx, {"eval_set": str(path), "max_new_tokens": 8}).metrics
    assert again == m and scripted_ctx.judge.calls == 3  # a re-run is answered from the judgment cache


def test_mt_bench_turn_scores_through_an_endpoint_judge(scripted_ctx, tmp_path):
    from evaluation.data import DATA_DIR

    data = tmp_path / "data"
    (data / "mt_bench" / "reference_answer").mkdir(parents=True)
    (data / "mt_bench" / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in MT_QUESTIONS))
    (data / "mt_bench" / "reference_answer" / "gpt-4.jsonl").write_text(json.dumps(MT_REFERENCE) + "\n")
    (data / "judge_prompts.jsonl").write_text((DATA_DIR / "mt_bench" / "judge_prompts.jsonl").read_text())
    res = get_adapter("mt_bench")(scripted_ctx, {"questions": "official", "data_dir": str(data), "max_new_tokens": 8})
    m = res.metrics
    assert (m["mt_bench/turn1"], m["mt_bench/turn2"], m["mt_bench/average"]) == (7, 4, 5.5)
    assert m["mt_bench/parse_failure_rate"] == 0 and m["mt_bench/category/math"] == 5.5
    assert {r["category"] for r in res.tables["mt_bench_categories"]} == {"writing", "math"}


def test_pairwise_against_a_baseline_through_an_endpoint_judge(scripted_ctx, tiny_checkpoint, tmp_path):
    base = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "base",
                       model_id="baseline", generation={"max_new_tokens": 8})
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps(AE_ROWS))
    m = get_adapter("pairwise")(scripted_ctx, {"baseline_context": base, "prompts_path": str(prompts),
                                               "max_new_tokens": 8}).metrics
    # "3 8" in both orders: the model wins as Assistant 2 and loses as Assistant 1 -> tie every time
    assert (m["pairwise/win"], m["pairwise/tie"], m["pairwise/lose"]) == (0, 3, 0)
    assert m["pairwise/winning_score"] == 1.0 and m["pairwise/parse_failures"] == 0


def test_pairwise_without_a_baseline_says_so(scripted_ctx):
    with pytest.raises(ValueError, match="baseline_variant"):
        get_adapter("pairwise")(scripted_ctx, {"baseline_context": None})


def test_lm_eval_bundled_suite_through_simple_evaluate(ctx):
    res = get_adapter("lm_eval")(ctx, {"suite": "bundled", "batch_size": 4, "limit": 6})
    tasks = {r["task"] for r in res.tables["lm_eval"]}
    assert tasks == {"mosaic_mc_arithmetic", "mosaic_mc_science", "mosaic_mc_commonsense", "mosaic_mc_language"}
    assert all(r["n"] == 6 and 0 <= r["value"] <= 1 for r in res.tables["lm_eval"])
    assert res.metrics["lm_eval/average"] == pytest.approx(sum(r["value"] for r in res.tables["lm_eval"]) / 4)
    samples = json.loads((ctx.out_dir / "lm_eval" / "samples.json").read_text())
    for r in res.tables["lm_eval"]:  # every item's score is kept, and they average to the task's value
        items = samples[r["task"]]
        assert sorted(i["doc_id"] for i in items) == list(range(6))
        assert sum(i[r["metric"]] for i in items) / 6 == pytest.approx(r["value"])


def test_lm_eval_unknown_suite_is_named(ctx):
    with pytest.raises(ValueError, match="eval.lm_eval.suite"):
        get_adapter("lm_eval")(ctx, {"suite": "openllm_v9"})


def test_mosaic_bench_end_to_end(ctx):
    res = get_adapter("mosaic_bench")(ctx, {"ks": [1, 2], "n_per_cell": 1, "vocabularies": ["train", "heldout"],
                                            "max_new_tokens": 16})
    assert res.info["n_items"] == 2 * (1 + 16)
    assert 0 <= res.metrics["mosaic_bench/structure_acc"] <= 1
    assert {"mosaic_bench/train/structure_acc", "mosaic_bench/heldout/structure_acc"} <= set(res.metrics)
    lines = (ctx.out_dir / "mosaic_bench" / "responses.jsonl").read_text().splitlines()
    assert len(lines) == 34 and json.loads(lines[0])["check"]["content_total"] >= 1


def test_verifiable_scores_heldout_tasks_item_by_item(ctx):
    from evaluation.adapters.verifiable import score
    from mosaic.data.sources import resolve_examples
    from mosaic.data.verifiable import generate

    res = get_adapter("verifiable")(ctx, {"n": 24, "max_new_tokens": 8})
    items = [json.loads(x) for x in (ctx.out_dir / "verifiable" / "items.jsonl").read_text().splitlines()]
    assert len(items) == res.info["n_items"] == 24
    assert res.metrics["verifiable/accuracy"] == sum(i["correct"] for i in items) / 24
    train_ids = {e.id for e in resolve_examples("verifiable:2000")}
    assert not train_ids & {i["id"] for i in items}  # never a training task
    tasks = generate("heldout", 24)
    correct, metrics, rows = score(tasks, [t.answer for t in tasks])  # the canonical answers score 1
    assert all(correct) and metrics["verifiable/accuracy"] == 1.0 and sum(r["n"] for r in rows) == 24
    correct, metrics, _ = score(tasks, ["no idea"] * 24)
    assert not any(correct) and metrics["verifiable/accuracy"] == 0.0
