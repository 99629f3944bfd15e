"""MT-Bench: FastChat's defaults, per-turn counts of truncated and unparsed judgments, and FastChat's own
show_result.py reading our judgment file (fastchat is a dependency, so it runs here as a subprocess)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evaluation.adapters import get_adapter
from evaluation.adapters.mt_bench import judge_token_cap, mark_truncated, turn_counts
from evaluation.context import EvalContext
from evaluation.data import DATA_DIR

CONF = Path(__file__).resolve().parents[2] / "conf"
QUESTIONS = [  # FastChat's question.jsonl layout; the second turn of 9003 carries the scripted judge's pairwise
    # marker, so the scripted judge answers it with a line that FastChat cannot parse (score -1)
    {"question_id": 9001, "category": "writing", "turns": ["Write one sentence about autumn.",
                                                          "Now rewrite it for a five-year-old."]},
    {"question_id": 9002, "category": "math", "turns": ["What is 15 + 27?", "Now double that result."]},
    {"question_id": 9003, "category": "roleplay", "turns": ["Greet me as a pirate would.",
                                                           "Now explain the heading [Reply of Assistant 1]."]},
]
REFERENCE = {"question_id": 9002, "answer_id": "ref-9002", "model_id": "gpt-4", "tstamp": 0.0,
             "choices": [{"index": 0, "turns": ["15 + 27 = 42.", "Doubling 42 gives 84."]}]}
# FastChat's single-answer judgment record (gen_judgment.py / common.play_a_match_single)
JUDGMENT_FIELDS = {"question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp"}


def fastchat_data(tmp_path, questions=QUESTIONS) -> Path:
    """FastChat's llm_judge/data layout: mt_bench/question.jsonl, mt_bench/reference_answer/gpt-4.jsonl,
    judge_prompts.jsonl."""
    data = tmp_path / "data"
    (data / "mt_bench" / "reference_answer").mkdir(parents=True)
    (data / "mt_bench" / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    (data / "mt_bench" / "reference_answer" / "gpt-4.jsonl").write_text(json.dumps(REFERENCE) + "\n")
    (data / "judge_prompts.jsonl").write_text((DATA_DIR / "mt_bench" / "judge_prompts.jsonl").read_text())
    return data


@pytest.fixture
def scripted_ctx(tiny_checkpoint, tmp_path, scripted_judge, shipped_judges):
    return EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval",
                       model_id="tiny-smoke", generation={"max_new_tokens": 8},
                       judge_cfg={**shipped_judges["openai"], "model": "scripted", "base_url": scripted_judge,
                                  "api_key_env": "", "max_retries": 0})


def test_fastchat_defaults_in_the_config_and_smaller_in_the_cpu_study():
    cfg = yaml.safe_load((CONF / "eval" / "mt_bench.yaml").read_text())
    assert (cfg["max_new_tokens"], cfg["judge_max_tokens"]) == (1024, 2048)  # gen_model_answer, run_judge_single
    cpu = yaml.safe_load((CONF / "experiment" / "cpu_repro.yaml").read_text())["eval"]["mt_bench"]
    assert cpu["max_new_tokens"] < 1024 and cpu["judge_max_tokens"] < 2048


def test_turn_counts_and_truncation_marks():
    judgments = [{"turn": 1, "score": 7, "judgment": "a b c"}, {"turn": 1, "score": -1, "judgment": "a b c d"},
                 {"turn": 2, "score": -1, "judgment": "a"}]
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in token count
    marked = mark_truncated(judgments, words, 4, slack=0)
    assert [j["truncated"] for j in marked] == [False, True, False]
    # judges return stripped text, so a judgment cut at the cap may re-count a token or two short
    assert [j["truncated"] for j in mark_truncated(judgments, words, 5)] == [True, True, False]
    assert turn_counts(marked) == {"mt_bench/turn1_judgments": 2, "mt_bench/turn1_unparsed": 1,
                                   "mt_bench/turn1_truncated": 1, "mt_bench/turn2_judgments": 1,
                                   "mt_bench/turn2_unparsed": 1, "mt_bench/turn2_truncated": 0}
    uncountable = turn_counts(mark_truncated(judgments, None, 4))
    assert "mt_bench/turn1_truncated" not in uncountable and uncountable["mt_bench/turn2_unparsed"] == 1


def test_unparsed_per_turn_beside_the_scores_and_show_result_reads_our_file(scripted_ctx, tmp_path):
    res = get_adapter("mt_bench")(scripted_ctx, {"questions": "official", "data_dir": str(fastchat_data(tmp_path)),
                                                 "max_new_tokens": 8})
    m = res.metrics
    assert (m["mt_bench/turn1"], m["mt_bench/turn2"]) == (7, 4)
    assert (m["mt_bench/turn1_unparsed"], m["mt_bench/turn2_unparsed"]) == (0, 1)  # 9003's second turn
    assert (m["mt_bench/turn1_judgments"], m["mt_bench/turn2_judgments"]) == (3, 3)
    # an endpoint judge without judge_tokenizer: truncation cannot be counted, so it is absent, never 0
    assert "mt_bench/turn1_truncated" not in m and res.info["truncation_counted"] is False
    assert res.tables["mt_bench_by_turn"][1] == {"turn": 2, "score": 4, "judgments": 3, "unparsed": 1,
                                               "truncated": None}

    # our file is exactly where and what FastChat writes: <data>/<bench>/model_judgment/<judge>_single.jsonl
    out_file = scripted_ctx.out_dir / "mt_bench" / "model_judgment" / "scripted_single.jsonl"
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert all(set(r) == JUDGMENT_FIELDS for r in rows) and {r["model"] for r in rows} == {"tiny-smoke"}
    assert all(r["judge"][0] == "scripted" and r["turn"] in (1, 2) for r in rows)

    # FastChat's show_result.py, run as documented (the command is stored with the result)
    command = res.info["show_result"]
    assert "--bench-name mt_bench --judge-model scripted" in command
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    shown = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "Input file: data/mt_bench/model_judgment/scripted_single.jsonl" in lines
    scores = {}
    for header, key in (("First turn", "turn1"), ("Second turn", "turn2"), ("Average", "average")):
        i = next(n for n, line in enumerate(lines) if header in line)
        row = next(line for line in lines[i + 1:] if line.startswith("tiny-smoke"))
        scores[key] = float(row.split()[-1])
    assert scores == {"turn1": m["mt_bench/turn1"], "turn2": m["mt_bench/turn2"],
                      "average": pytest.approx(m["mt_bench/average"])}


def test_truncation_counted_with_the_judge_tokenizer_of_an_endpoint_judge(scripted_ctx, tmp_path, tiny_checkpoint):
    data = str(fastchat_data(tmp_path, QUESTIONS[:2]))
    # "Good. [[7]]" / "Fine. [[4]]" are more than 2 tokens: with a cap of 2 every judgment reached it
    capped = get_adapter("mt_bench")(scripted_ctx, {"questions": "official", "data_dir": data, "max_new_tokens": 8,
                                                    "judge_max_tokens": 2, "judge_tokenizer": str(tiny_checkpoint)})
    m = capped.metrics
    assert (m["mt_bench/turn1_truncated"], m["mt_bench/turn2_truncated"]) == (2, 2)
    assert capped.info["judge_token_cap"] == 2 and capped.info["truncation_counted"] is True
    roomy = get_adapter("mt_bench")(scripted_ctx, {"questions": "official", "data_dir": data, "max_new_tokens": 8,
                                                   "judge_tokenizer": str(tiny_checkpoint)})
    assert (roomy.metrics["mt_bench/turn1_truncated"], roomy.metrics["mt_bench/turn2_truncated"]) == (0, 0)
    assert roomy.info["judge_token_cap"] == 2048  # FastChat's judge request, the default cap


def test_the_local_judge_counts_its_own_truncated_judgments(tiny_checkpoint, tmp_path, shipped_judges):
    """The real local judge (SmolLM2) with a 4-token cap: no grading fits, and the count says so although
    the returned (stripped) texts re-count to 3 or 4 tokens ("[Task]", "15 +", "I'm glad you", "### User:")."""
    ctx = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval",
                      model_id="tiny-smoke", generation={"max_new_tokens": 8},
                      judge_cfg={**shipped_judges["local"], "max_tokens": 48})
    data = str(fastchat_data(tmp_path, QUESTIONS[:2]))
    res = get_adapter("mt_bench")(ctx, {"questions": "official", "data_dir": data,
                                        "max_new_tokens": 8, "judge_max_tokens": 4})
    m = res.metrics
    assert res.info["judge_token_cap"] == judge_token_cap(ctx.judge, 4) == 4
    judgments = [json.loads(line) for line in next((ctx.out_dir / "mt_bench" / "model_judgment")
                                                   .glob("*_single.jsonl")).read_text().splitlines()]
    assert (m["mt_bench/turn1_truncated"], m["mt_bench/turn2_truncated"]) == (2, 2)
    for turn in (1, 2):
        assert m[f"mt_bench/turn{turn}_unparsed"] == sum(j["score"] == -1 for j in judgments if j["turn"] == turn)
