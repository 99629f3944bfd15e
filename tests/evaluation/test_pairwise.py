"""Pairwise judging: decimal grades, judge prompts in FastChat's legacy review-prompt layout, and the
group's five test sets read from fixtures written here in each set's published layout."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evaluation.adapters import get_adapter
from evaluation.adapters.pairwise import load_review_prompts, parse_grades, prompt_chooser
from evaluation.context import EvalContext
from evaluation.pairwise_sets import ALL, SETS, load_prompts

# One fixture row per set, in the layout each set is published in (see evaluation/pairwise_sets.py)
LAYOUTS = {
    "vicuna": [{"question_id": 1, "text": "Suggest two ways to sleep better.", "category": "generic"},
               {"question_id": 2, "text": "Write a Python function that reverses a list.", "category": "coding"}],
    "koala": [{"id": "koala_1", "prompt": "Explain what a mortgage is to a teenager."}],
    "wizardlm": [{"idx": 1, "Skill": "Math", "Difficulty": 2, "Instruction": "What is 12 squared?"}],
    "self_instruct": [{"id": "user_oriented_task_0", "motivation_app": "Gmail",
                       "instruction": "Turn the note into a polite email.",
                       "instances": [{"input": "cant come tmrw, sick", "output": "Dear team, ..."}]},
                      {"id": "user_oriented_task_1", "motivation_app": "Notion", "instruction": "List three habits.",
                       "instances": [{"input": "", "output": "1. ..."}]}],
    "lima": [{"conversations": ["How do I keep basil alive indoors?"], "source": "stackexchange"}],
}
PUBLISHED_NAMES = {"vicuna": "vicuna/question.jsonl", "koala": "koala/koala_test_set.jsonl",
                   "wizardlm": "wizardlm/WizardLM_testset.jsonl",
                   "self_instruct": "self_instruct/user_oriented_instructions.jsonl", "lima": "lima/test.jsonl"}
GROUP_NAMES = {"vicuna": "vicuna_test_set.jsonl", "koala": "koala_test_set.jsonl",
               "wizardlm": "wizardlm_test_set.jsonl", "self_instruct": "sinstruct_test_set.jsonl",
               "lima": "lima_test_set.jsonl"}

# A judge prompt file in FastChat's legacy review-prompt layout (our own wording)
TEMPLATE = ("[Question]\n{question}\n\n<<answer 1>>\n{answer_1}\n<<end 1>>\n\n<<answer 2>>\n{answer_2}\n<<end 2>>\n\n"
            "[System]\n{prompt}\n\n")
REVIEW_PROMPTS = [
    {"prompt_id": 1, "system_prompt": "You grade assistants.", "prompt_template": TEMPLATE,
     "defaults": {"prompt": "GRADE-GENERAL: two scores from 1 to 10 on the first line."},
     "description": "general questions", "category": "general"},
    {"prompt_id": 2, "system_prompt": "You grade code.", "prompt_template": TEMPLATE,
     "defaults": {"prompt": "GRADE-CODING: two scores from 1 to 10 on the first line."},
     "description": "coding questions", "category": "coding"},
]


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def sets_dir(tmp_path):
    for name, rel in PUBLISHED_NAMES.items():
        write_jsonl(tmp_path / "sets" / rel, LAYOUTS[name])
    return tmp_path / "sets"


@pytest.fixture
def review_file(tmp_path):
    return write_jsonl(tmp_path / "prompt.jsonl", REVIEW_PROMPTS)


@pytest.mark.parametrize("text,grades", [
    ("8.5 9", (8.5, 9.0)), ("8.5, 9.0\nAssistant 2 is more complete.", (8.5, 9.0)), ("7,8", (7, 8)),
    ("\n9.5 ; 6\n", (9.5, 6)), ("(8, 9)", (8, 9)), ("7.5/10 8/10", (7.5, 8)), ("10 10", (10, 10)),
    ("8 9 10", None), ("0.5 9", None), ("9 10.5", None), ("Scores: 8 9", None), ("8\n9", None)])
def test_grades_on_the_first_line_whole_or_decimal(text, grades):
    assert parse_grades(text) == grades


def test_review_prompts_in_fastchat_layout_fill_defaults_and_follow_categories(review_file):
    prompts = load_review_prompts(review_file)
    choose = prompt_chooser(prompts, None, str(review_file))
    assert choose("coding").prompt_id == 2 and choose("generic").prompt_id == 1 and choose(None).prompt_id == 1
    system, user = choose("coding").messages("Q?", "A1", "A2")
    assert system == {"role": "system", "content": "You grade code."}
    assert user["content"].startswith("[Question]\nQ?\n\n<<answer 1>>\nA1\n") and "GRADE-CODING" in user["content"]
    assert prompt_chooser(prompts, 2, str(review_file))("generic").prompt_id == 2


def bad_row(**change):
    row = {**REVIEW_PROMPTS[0], **change}
    return {k: v for k, v in row.items() if v is not ...}


@pytest.mark.parametrize("row,message", [
    (bad_row(system_prompt=...), r"line 2: field 'system_prompt' missing or not str"),
    (bad_row(prompt_id="1"), r"line 2: field 'prompt_id' missing or not int"),
    (bad_row(defaults={"prompt": 3}), r"line 2: field 'defaults': 'prompt' is not a string"),
    (bad_row(defaults={}), r"line 2: field 'prompt_template': placeholder \{prompt\} is neither"),
    (bad_row(prompt_template="{question} {answer_1}"), r"line 2: field 'prompt_template' has no \{answer_2\}"),
    (bad_row(prompt_template="{question} {answer_1} {answer_2} {"), r"line 2: field 'prompt_template': .*brace"),
    (bad_row(defaults={"prompt": "x", "question": "y"}), r"line 2: field 'defaults': 'question' is filled"),
])
def test_review_prompt_errors_name_file_row_and_field(tmp_path, row, message):
    path = write_jsonl(tmp_path / "prompt.jsonl", [REVIEW_PROMPTS[1], {**row, "prompt_id": row.get("prompt_id", 5)}])
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": " + message):
        load_review_prompts(path)


def test_review_prompt_file_level_errors(tmp_path):
    path = tmp_path / "prompt.jsonl"
    path.write_text(json.dumps(REVIEW_PROMPTS[0]) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"prompt.jsonl: line 2: not valid JSON"):
        load_review_prompts(path)
    write_jsonl(path, [REVIEW_PROMPTS[0], REVIEW_PROMPTS[0]])
    with pytest.raises(ValueError, match="prompt_id 1 appears more than once"):
        load_review_prompts(path)
    write_jsonl(path, [REVIEW_PROMPTS[1], {**REVIEW_PROMPTS[1], "prompt_id": 3, "category": "math"}])
    with pytest.raises(ValueError, match="no row with category 'general'.*prompt_id to one of \\[2, 3\\]"):
        prompt_chooser(load_review_prompts(path), None, str(path))
    with pytest.raises(ValueError, match=r"prompt_id=9: not in"):
        prompt_chooser(load_review_prompts(path), 9, str(path))
    with pytest.raises(FileNotFoundError, match="missing.jsonl: no such file"):
        load_review_prompts(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("name", ALL)
def test_each_set_reads_its_published_layout(sets_dir, name):
    items = load_prompts(name, sets_dir)
    assert [it["set"] for it in items] == [name] * len(LAYOUTS[name])
    assert all(isinstance(it["instruction"], str) and it["instruction"] for it in items)


def test_set_fields_become_prompts_and_categories(sets_dir):
    by_set = {name: load_prompts(name, sets_dir) for name in ALL}
    assert by_set["vicuna"][1] == {"set": "vicuna", "id": 2, "category": "coding",
                                   "instruction": "Write a Python function that reverses a list."}
    assert by_set["koala"][0]["instruction"] == "Explain what a mortgage is to a teenager."
    assert by_set["wizardlm"][0]["category"] == "Math"
    # Self-Instruct: the instruction, then its instance's input when there is one
    assert [it["instruction"] for it in by_set["self_instruct"]] == [
        "Turn the note into a polite email.\n\ncant come tmrw, sick", "List three habits."]
    assert by_set["lima"][0]["instruction"] == "How do I keep basil alive indoors?"
    everything = load_prompts("all", sets_dir)
    assert [it["set"] for it in everything] == [n for n in ALL for _ in LAYOUTS[n]]


def test_the_group_scripts_flat_file_names_are_read_too(tmp_path):
    for name, rel in GROUP_NAMES.items():
        write_jsonl(tmp_path / rel, LAYOUTS[name])
    assert len(load_prompts("all", tmp_path)) == sum(len(v) for v in LAYOUTS.values())


def test_vicuna_bench_layout_from_fastchat_llm_judge(tmp_path):
    write_jsonl(tmp_path / "vicuna" / "question.jsonl",
                [{"question_id": 1, "category": "generic", "turns": ["How can I improve my time management?"]}])
    assert load_prompts("vicuna", tmp_path)[0]["instruction"] == "How can I improve my time management?"


@pytest.mark.parametrize("name", ALL)
def test_a_missing_set_names_the_file_and_where_it_is_published(tmp_path, name):
    spec = SETS[name]
    with pytest.raises(FileNotFoundError) as e:
        load_prompts(name, tmp_path)
    msg = str(e.value)
    assert str(tmp_path / spec.files[0]) in msg and spec.published in msg and "eval.pairwise.sets_dir" in msg


@pytest.mark.parametrize("name,row,field", [
    ("vicuna", {"question_id": 1, "category": "x"}, "text"), ("koala", {"id": "k"}, "prompt"),
    ("wizardlm", {"idx": 1, "Skill": "Math", "Instruction": 7}, "Instruction"),
    ("self_instruct", {"id": "t", "instruction": "Do it.", "instances": []}, "instances"),
    ("lima", {"conversations": [], "source": "x"}, "conversations")])
def test_a_malformed_set_row_names_file_line_and_field(tmp_path, name, row, field):
    path = write_jsonl(tmp_path / PUBLISHED_NAMES[name], [LAYOUTS[name][0], row])
    with pytest.raises(ValueError, match=re.escape(f"{path}: line 2: field '{field}'")):
        load_prompts(name, tmp_path)


def test_a_path_is_read_in_whichever_layout_it_has(tmp_path):
    koala = write_jsonl(tmp_path / "mine.jsonl", LAYOUTS["koala"])
    assert load_prompts(str(koala))[0] == {"set": "mine", "id": "koala_1", "category": None,
                                           "instruction": "Explain what a mortgage is to a teenager."}
    array = tmp_path / "alpaca.json"
    array.write_text(json.dumps([{"instruction": "Name a prime.", "output": "7"}]))
    assert load_prompts(str(array))[0]["instruction"] == "Name a prime."
    unknown = write_jsonl(tmp_path / "odd.jsonl", [{"question": "?"}])
    with pytest.raises(ValueError, match="odd.jsonl: line 1: no prompt field of a known layout"):
        load_prompts(str(unknown))
    with pytest.raises(ValueError, match="'vicunaa' is not one of bundled, vicuna"):
        load_prompts("vicunaa")


@pytest.fixture(scope="module")
def grading_judge():
    """An OpenAI-compatible endpoint that grades the longer answer 8.5 and the shorter 6 ("8.5, 6.0" with
    decimals, as GPT-4 often writes), 7.5 each on equal length, and nothing gradeable when the prompt's
    ``defaults`` text was not filled in."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = body["messages"][-1]["content"]
            m = re.search(r"<<answer 1>>\n(.*)\n<<end 1>>\n\n<<answer 2>>\n(.*)\n<<end 2>>", text, re.S)
            if m is None or "GRADE-" not in text:
                reply = "I cannot grade this."
            else:
                a, b = len(m.group(1)), len(m.group(2))
                reply = {True: "8.5, 6.0", False: "6.0, 8.5"}[a > b] if a != b else "7.5 7.5"
                reply += "\nThe longer answer is more complete."
            out = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_pairwise_with_a_fastchat_prompt_on_the_test_sets(tiny_checkpoint, tmp_path, grading_judge, shipped_judges,
                                                          sets_dir, review_file):
    ctx = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval",
                      model_id="tiny-smoke", generation={"max_new_tokens": 8},
                      judge_cfg={**shipped_judges["openai"], "model": "grader", "base_url": grading_judge,
                                 "api_key_env": "", "max_retries": 0})
    # the baseline prompts the same weights through another template, so the two answers differ
    base = EvalContext(checkpoint=tiny_checkpoint, template="raw", out_dir=tmp_path / "base", model_id="baseline",
                       generation={"max_new_tokens": 8})
    res = get_adapter("pairwise")(ctx, {"baseline_context": base, "prompts": "all", "sets_dir": str(sets_dir),
                                        "prompt": str(review_file), "max_new_tokens": 8})
    records = json.loads((ctx.out_dir / "pairwise" / "judgments.json").read_text())
    assert len(records) == sum(len(v) for v in LAYOUTS.values()) and res.info["sets"] == list(ALL)
    expected = ["win" if len(r["model"]) > len(r["baseline"]) else "lose" if len(r["model"]) < len(r["baseline"])
                else "tie" for r in records]
    assert any(r["model"] != r["baseline"] for r in records)
    assert [r["outcome"] for r in records] == expected  # consistent decimal grades in both orders
    assert all(g in ([8.5, 6.0], [6.0, 8.5], [7.5, 7.5]) for r in records for g in map(list, r["grades"]))
    m = res.metrics
    assert m["pairwise/parse_failures"] == 0 and m["pairwise/n_judged"] == len(records)
    assert (m["pairwise/win"], m["pairwise/tie"], m["pairwise/lose"]) == tuple(
        float(expected.count(k)) for k in ("win", "tie", "lose"))
    assert m["pairwise/winning_score"] == pytest.approx((expected.count("win") - expected.count("lose"))
                                                        / len(expected) + 1)
    assert m["pairwise/vicuna/n_judged"] == 2 and "pairwise/lima/winning_score" in m  # each set beside the total
    used = {r["instruction"]: r["prompt"] for r in records}
    assert used["Write a Python function that reverses a list."] == "prompt.jsonl#2"  # the coding row
    assert set(used.values()) == {"prompt.jsonl#1", "prompt.jsonl#2"}


def test_a_bad_prompt_file_fails_before_anything_is_generated(tiny_checkpoint, tmp_path, shipped_judges):
    bad = write_jsonl(tmp_path / "prompt.jsonl", [{**REVIEW_PROMPTS[0], "defaults": []}])
    ctx = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path / "eval",
                      model_id="tiny-smoke", judge_cfg=dict(shipped_judges["openai"]))
    with pytest.raises(ValueError, match=r"prompt.jsonl: line 1: field 'defaults' missing or not dict"):
        get_adapter("pairwise")(ctx, {"baseline_context": ctx, "prompt": str(bad)})
    assert "generator" not in ctx.__dict__


def test_shipped_config_keeps_our_prompt_and_the_bundled_set():
    import yaml
    from pathlib import Path

    cfg = yaml.safe_load((Path(__file__).resolve().parents[2] / "conf" / "eval" / "pairwise.yaml").read_text())
    # the new keys are optional (absent = our prompt, the bundled set), so earlier runs' evaluation keys stand
    assert not {"prompt", "prompts", "sets_dir", "prompt_id"} & set(cfg) and cfg["prompts_path"] is None
