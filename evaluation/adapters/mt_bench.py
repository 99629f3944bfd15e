"""MT-Bench: answers from our generation layer, single-answer grading by FastChat's ``llm_judge`` code.

Question sets:
  * ``bundled`` (offline default): ``evaluation/data/mt_bench/`` — two-turn questions, reference answers
    for math/reasoning/coding and judge prompts, all written by this project in FastChat's file formats;
  * ``official``: FastChat's 80 questions, GPT-4 reference answers and judge prompts, from ``data_dir``
    (FastChat's ``data/`` layout) or downloaded on request (``download: true``) from the FastChat
    repository into ``$MOSAIC_DATA_CACHE/mt_bench/``.

FastChat's answer generator is CUDA-only, so answers come from our generation layer with FastChat's
per-category temperatures; files are written in FastChat's layout (``model_answer/<model>.jsonl``,
``model_judgment/<judge>_single.jsonl``), so FastChat's ``show_result.py`` reads them. Judging runs
FastChat's ``make_judge_single`` / ``make_match_single`` / ``play_a_match_single``; FastChat calls
judges through ``common.chat_completion_openai`` (openai<1 API), which is pointed at our judge for the
duration of the call (the documented workaround, notes: eval-tools.md 2.5) and restored afterwards.
A score of -1 is FastChat's "did not parse": counted as a parse failure, excluded from the means; when
nothing parsed (a weak local judge), the means are absent and the failure rate is 1.
"""
from __future__ import annotations

import io
import json
import os
import time
import urllib.request
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

from . import AdapterResult, register
from ..data import DATA_DIR
from ..judges import complete_all

FASTCHAT_DATA = "https://raw.githubusercontent.com/lm-sys/FastChat/main/fastchat/llm_judge/data/"
OFFICIAL_FILES = {"question.jsonl": "mt_bench/question.jsonl",
                  "reference_answer/gpt-4.jsonl": "mt_bench/reference_answer/gpt-4.jsonl",
                  "judge_prompts.jsonl": "judge_prompts.jsonl"}


def question_set(cfg: dict) -> tuple[Path, Path, Path]:
    """(question file, reference answer file, judge prompt file)."""
    if cfg.get("questions", "bundled") == "bundled":
        base = DATA_DIR / "mt_bench"
        return base / "question.jsonl", base / "reference_answer" / "reference.jsonl", base / "judge_prompts.jsonl"
    if cfg.get("data_dir"):
        base = Path(cfg["data_dir"]).expanduser()
        files = base / "mt_bench" / "question.jsonl", base / "mt_bench" / "reference_answer" / "gpt-4.jsonl", \
            base / "judge_prompts.jsonl"
        for f in files:
            if not f.exists():
                raise FileNotFoundError(f"eval.mt_bench.data_dir: missing {f} (expected FastChat's llm_judge/data layout)")
        return files
    cache = Path(os.environ.get("MOSAIC_DATA_CACHE", Path.home() / ".cache" / "mosaic-it" / "datasets")) / "mt_bench"
    for name, remote in OFFICIAL_FILES.items():
        path = cache / name
        if path.exists():
            continue
        if not cfg.get("download"):
            raise FileNotFoundError(f"official MT-Bench files are not in {cache}; set eval.mt_bench.download=true to "
                                    f"fetch them from {FASTCHAT_DATA}, or eval.mt_bench.data_dir=<FastChat data dir>")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            urllib.request.urlretrieve(FASTCHAT_DATA + remote, path.with_suffix(".part"))
        except OSError as e:
            raise RuntimeError(f"could not download {FASTCHAT_DATA + remote}: {e}") from None
        os.replace(path.with_suffix(".part"), path)
    return cache / "question.jsonl", cache / "reference_answer" / "gpt-4.jsonl", cache / "judge_prompts.jsonl"


def validate_questions(path: Path, questions: list[dict]) -> None:
    for i, q in enumerate(questions):
        for key, kind in (("question_id", int), ("category", str), ("turns", list)):
            if not isinstance(q.get(key), kind):
                raise ValueError(f"{path}: line {i + 1}: field {key!r} missing or not {kind.__name__}")
        if len(q["turns"]) != 2:
            raise ValueError(f"{path}: line {i + 1}: field 'turns' must hold two turns, has {len(q['turns'])}")


def generate_answers(ctx, questions: list[dict], temperatures: dict, max_new_tokens: int) -> dict[int, list[str]]:
    """Both turns for every question; turn 2 sees the model's own turn-1 answer. Batched per temperature."""
    answers: dict[int, list[str]] = {q["question_id"]: [] for q in questions}
    for turn in (0, 1):
        by_temp: dict[float, list[dict]] = {}
        for q in questions:
            by_temp.setdefault(float(temperatures.get(q["category"], 0.7)), []).append(q)
        for temp, qs in sorted(by_temp.items()):
            convs = []
            for q in qs:
                conv = [{"role": "user", "content": q["turns"][0]}]
                if turn == 1:
                    conv += [{"role": "assistant", "content": answers[q["question_id"]][0]},
                             {"role": "user", "content": q["turns"][1]}]
                convs.append(conv)
            for q, text in zip(qs, ctx.generate(convs, temperature=temp, max_new_tokens=max_new_tokens)):
                answers[q["question_id"]].append(text)
    return answers


@contextmanager
def judge_routed_to(complete, name: str, cap: int):
    """FastChat's judge call, pointed at ``complete(messages, max_tokens=, temperature=)`` while the block runs."""
    from fastchat.llm_judge import common

    def chat_completion(model, conv, temperature, max_tokens, api_dict=None):
        return complete(conv.to_openai_api_messages(), max_tokens=min(cap, max_tokens), temperature=temperature)

    saved, models = common.chat_completion_openai, common.OPENAI_MODEL_LIST  # a tuple in fschat 0.2.36
    common.chat_completion_openai = chat_completion
    common.OPENAI_MODEL_LIST = type(models)([*models, name])
    try:
        yield
    finally:
        common.chat_completion_openai, common.OPENAI_MODEL_LIST = saved, models


def prefetch_judgments(judge, matches: list, name: str, cap: int) -> int:
    """Fill the judge's cache in batches before FastChat asks one question at a time.

    FastChat's ``play_a_match_single`` builds each judge prompt and calls the judge sequentially; a local
    judge is several times faster batched. So the matches are played once against a recorder (FastChat
    still builds every prompt; the placeholder verdicts are not written), the recorded
    conversations are completed with ``complete_all`` (batched where the judge can), and the real play
    that follows is served from the judge's cache. Returns the number of judge prompts."""
    from fastchat.llm_judge import common


    recorded: dict[tuple, list] = {}

    def record(messages, *, max_tokens, temperature):
        recorded.setdefault((max_tokens, temperature), []).append(messages)
        return ""

    with judge_routed_to(record, name, cap):
        for m in matches:
            common.play_a_match_single(m, None)
    for (max_tokens, temperature), conversations in recorded.items():
        complete_all(judge, conversations, max_tokens=max_tokens, temperature=temperature)
    return sum(len(c) for c in recorded.values())


def summarise(judgments: list[dict], questions: list[dict]) -> tuple[dict, list[dict]]:
    category = {q["question_id"]: q["category"] for q in questions}
    metrics: dict[str, float] = {}
    rows = []
    valid = [j for j in judgments if j["score"] != -1]
    failures = len(judgments) - len(valid)

    def mean(xs):
        return sum(xs) / len(xs) if xs else float("nan")
    for turn in (1, 2):
        metrics[f"mt_bench/turn{turn}"] = mean([j["score"] for j in valid if j["turn"] == turn])
    metrics["mt_bench/average"] = mean([j["score"] for j in valid])  # FastChat: mean over all turn scores
    for cat in sorted(set(category.values())):
        scores = {t: [j["score"] for j in valid if j["turn"] == t and category[j["question_id"]] == cat] for t in (1, 2)}
        rows.append({"category": cat, "turn1": mean(scores[1]), "turn2": mean(scores[2]),
                     "average": mean(scores[1] + scores[2]), "n": len(scores[1]) + len(scores[2])})
        metrics[f"mt_bench/category/{cat}"] = rows[-1]["average"]
    metrics["mt_bench/n_judged"] = float(len(valid))
    metrics["mt_bench/parse_failures"] = float(failures)
    metrics["mt_bench/parse_failure_rate"] = failures / len(judgments) if judgments else float("nan")
    # a mean over no parsed judgment is absent, not zero: the report shows "n/a" with the failure rate
    return {k: v for k, v in metrics.items() if v == v}, rows


@register("mt_bench")
def run(ctx, cfg: dict) -> AdapterResult:
    from fastchat.llm_judge import common
    from fastchat.llm_judge.gen_judgment import make_judge_single, make_match_single

    qfile, ref_file, prompt_file = question_set(cfg)
    questions = common.load_questions(str(qfile), None, None)
    validate_questions(qfile, questions)
    if cfg.get("limit"):
        questions = questions[:int(cfg["limit"])]
    out = ctx.out_dir / "mt_bench"
    answer_dir, judgment_dir = out / "model_answer", out / "model_judgment"
    answer_dir.mkdir(parents=True, exist_ok=True)
    model = ctx.model_id
    answers = generate_answers(ctx, questions, common.temperature_config, int(cfg.get("max_new_tokens", 512)))
    lines = [json.dumps({"question_id": q["question_id"], "answer_id": f"{model}-{q['question_id']}",
                         "model_id": model, "choices": [{"index": 0, "turns": answers[q["question_id"]]}],
                         "tstamp": time.time()}) for q in questions]
    tmp = answer_dir / f".{model}.jsonl.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, answer_dir / f"{model}.jsonl")

    judge = ctx.judge
    name = judge.identity()["model"]
    judges = make_judge_single(name, common.load_judge_prompts(str(prompt_file)))
    model_answers = {model: common.load_model_answers(str(answer_dir))[model]}
    refs = common.load_model_answers(str(ref_file.parent)).get(ref_file.stem, {}) if ref_file.exists() else {}
    ref_answers = {name: refs}
    need_ref = [q for q in questions if q["category"] in common.NEED_REF_CATS]
    missing = [q["question_id"] for q in need_ref if q["question_id"] not in refs]
    if missing:
        raise ValueError(f"{ref_file}: no reference answer for questions {missing} (categories {common.NEED_REF_CATS})")
    plain = [q for q in questions if q["category"] not in common.NEED_REF_CATS]
    matches = (make_match_single(plain, [model], model_answers, judges["default"])
               + make_match_single(need_ref, [model], model_answers, judges["math"], ref_answers=ref_answers)
               + make_match_single(plain, [model], model_answers, judges["default-mt"], multi_turn=True)
               + make_match_single(need_ref, [model], model_answers, judges["math-mt"], ref_answers=ref_answers,
                                   multi_turn=True))
    out_file = judgment_dir / f"{name.replace('/', '_')}_single.jsonl"
    out_file.unlink(missing_ok=True)  # judgments are cached by the judge; the file is rebuilt whole
    judgment_dir.mkdir(parents=True, exist_ok=True)
    cap = int(cfg.get("judge_max_tokens", 512))
    if hasattr(judge, "complete_many"):
        with redirect_stdout(io.StringIO()):  # FastChat prints every placeholder verdict
            prefetch_judgments(judge, matches, name, cap)
    with judge_routed_to(judge.complete, name, cap):
        for m in matches:
            common.play_a_match_single(m, str(out_file))
    judgments = [json.loads(line) for line in out_file.read_text().splitlines()]
    metrics, rows = summarise(judgments, questions)
    return AdapterResult(metrics=metrics, artifacts=[answer_dir / f"{model}.jsonl", out_file],
                         info={"questions": str(qfile), "n_questions": len(questions), "judge": judge.identity(),
                               "judge_prompts": str(prompt_file), "template": ctx.template,
                               "temperatures": "fastchat.llm_judge.common.temperature_config"},
                         tables={"mt_bench_categories": rows})
