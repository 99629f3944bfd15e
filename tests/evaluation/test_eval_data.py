"""The bundled evaluation data is in the official formats and loads through the real libraries' loaders."""
import json
import string
from collections import Counter

from evaluation.data import DATA_DIR

CATEGORIES = {"writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"}


def jsonl(path):
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]


def test_alpaca_eval_set():
    from evaluation.adapters.alpaca_eval import load_reference

    rows = load_reference(DATA_DIR / "alpaca_eval" / "eval_set.json")
    assert len(rows) >= 60 and len({r["instruction"] for r in rows}) == len(rows)
    assert all(set(r) == {"dataset", "instruction", "output", "generator"} for r in rows)


def test_mt_bench_questions_and_references_load_through_fastchat():
    from fastchat.llm_judge.common import NEED_REF_CATS, load_model_answers, load_questions

    questions = load_questions(str(DATA_DIR / "mt_bench" / "question.jsonl"), None, None)
    assert len(questions) >= 12 and len({q["question_id"] for q in questions}) == len(questions)
    assert Counter(q["category"] for q in questions) == {c: 2 for c in CATEGORIES}
    assert all(len(q["turns"]) == 2 and q["question_id"] > 160 for q in questions)
    refs = load_model_answers(str(DATA_DIR / "mt_bench" / "reference_answer"))["reference"]
    assert set(refs) == {q["question_id"] for q in questions if q["category"] in NEED_REF_CATS}
    assert all(len(a["choices"][0]["turns"]) == 2 for a in refs.values())


def test_judge_prompts_have_exactly_the_placeholders_fastchat_fills():
    from fastchat.llm_judge.common import load_judge_prompts

    prompts = load_judge_prompts(str(DATA_DIR / "mt_bench" / "judge_prompts.jsonl"))
    expected = {"single-v1": {"question", "answer"}, "single-math-v1": {"question", "answer", "ref_answer_1"},
                "single-v1-multi-turn": {"question_1", "answer_1", "question_2", "answer_2"},
                "single-math-v1-multi-turn": {"question_1", "answer_1", "question_2", "answer_2", "ref_answer_1",
                                              "ref_answer_2"}}
    for name, fields in expected.items():
        p = prompts[name]
        used = {f for _, f, _, _ in string.Formatter().parse(p["prompt_template"]) if f}
        assert used == fields, name
        assert p["type"] == "single" and p["output_format"] == "[[rating]]" and p["system_prompt"]


def test_multiple_choice_tasks():
    for task in ("mosaic_mc_arithmetic", "mosaic_mc_science", "mosaic_mc_commonsense", "mosaic_mc_language"):
        test, dev = jsonl(DATA_DIR / "mc" / task / "test.jsonl"), jsonl(DATA_DIR / "mc" / task / "dev.jsonl")
        assert len(test) >= 25 and len(dev) == 5
        questions = [r["question"] for r in test + dev]
        assert len(set(questions)) == len(questions)
        for r in test + dev:
            assert len(r["choices"]) == 4 and len(set(r["choices"])) == 4 and 0 <= r["label"] < 4
        positions = Counter(r["label"] for r in test)
        assert max(positions.values()) <= 0.4 * len(test), (task, positions)
    total = sum(len(jsonl(p)) for p in (DATA_DIR / "mc").glob("*/test.jsonl"))
    assert total >= 100
