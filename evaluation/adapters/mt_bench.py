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

Defaults are FastChat's (1024 new answer tokens, 2048 judge tokens). Beside the scores, each turn reports
its unparsed judgments and its truncated ones (the judge ran into its token cap, so the rating was
probably never written). The judge interface returns text only, so a truncated judgment is recognised by
its length in the judge's own tokens (at most 2 short of the cap: judges return stripped text): the local
judge's tokenizer, or ``judge_tokenizer`` (a local tokenizer directory) for an endpoint judge; without
either the truncation counts are absent.

FastChat's ``show_result.py`` reads our judgment file from a data dir holding ``<bench>/model_judgment/``:
``cd <any dir> && ln -s <run>/eval data && python -m fastchat.llm_judge.show_result --mode single
--bench-name mt_bench --judge-model <judge>`` (``show_result_command`` builds it; stored in ``info``).
"""
from __future__ import annotations

import io
import json
import os
import shlex
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


def existing_answers(path: Path, questions: list[dict]) -> dict[int, list[str]]:
    """Both turns per question from a FastChat ``model_answer/<model>.jsonl`` (``eval.mt_bench.answers``:
    judge a model's answers as they are). Every question of the set needs one row whose first choice
    has a string per turn; anything else is an error naming the file, line and field."""
    rows: dict[int, list[str]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {n}: not JSON ({e})") from None
        qid = row.get("question_id") if isinstance(row, dict) else None
        choices = row.get("choices") if isinstance(row, dict) else None
        if not isinstance(qid, int):
            raise ValueError(f"{path}: line {n}: field 'question_id' missing or not an integer")
        if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)
                and isinstance(choices[0].get("turns"), list)
                and all(isinstance(t, str) for t in choices[0]["turns"])):
            raise ValueError(f"{path}: line {n}: field 'choices[0].turns' missing or not a list of strings")
        if qid in rows:
            raise ValueError(f"{path}: line {n}: question_id {qid} answered twice")
        rows[qid] = choices[0]["turns"]
    for q in questions:
        got = rows.get(q["question_id"])
        if got is None or len(got) < len(q["turns"]):
            have = "no answer" if got is None else f"{len(got)} turn(s) of {len(q['turns'])}"
            raise ValueError(f"{path}: question {q['question_id']}: {have}")
    return {q["question_id"]: rows[q["question_id"]][:len(q["turns"])] for q in questions}


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


FASTCHAT_JUDGE_TOKENS = 2048  # what FastChat's run_judge_single asks for; our cap can only lower it
TRUNCATION_SLACK = 2          # tokens a re-count of a stripped judgment may miss (see mark_truncated)


def token_counter(judge, tokenizer_path: str | None = None):
    """text -> number of judge tokens, or None when the judge's tokenizer is unknown (an endpoint judge
    without ``judge_tokenizer``): the judge interface returns text, not a finish reason."""
    if tokenizer_path:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tokenizer_path)
    else:
        tok = getattr(getattr(judge, "generator", None), "tok", None)
    if tok is None:
        return None
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def judge_token_cap(judge, cap: int) -> int:
    """The most tokens a judgment can have: FastChat's request, our cap, and the local judge's own limit."""
    own = getattr(judge, "max_tokens", None)
    return min(FASTCHAT_JUDGE_TOKENS, cap, own if isinstance(own, int) else cap)


def mark_truncated(judgments: list[dict], count, cap: int, slack: int = TRUNCATION_SLACK) -> list[dict]:
    """Each judgment with ``truncated``: True when it came within ``slack`` tokens of ``cap``, None when
    uncountable. The slack is there because judges return stripped text without special tokens, so a
    re-count of a judgment cut at the cap can fall a token or two short (measured with the local judge)."""
    return [{**j, "truncated": None if count is None else count(j["judgment"]) >= cap - slack} for j in judgments]


def turn_counts(judgments: list[dict]) -> dict[str, float]:
    """Per turn: unparsed judgments (FastChat's -1) and truncated ones, shown beside that turn's score."""
    metrics: dict[str, float] = {}
    for turn in (1, 2):
        js = [j for j in judgments if j["turn"] == turn]
        metrics[f"mt_bench/turn{turn}_judgments"] = float(len(js))
        metrics[f"mt_bench/turn{turn}_unparsed"] = float(sum(j["score"] == -1 for j in js))
        if js and all(j.get("truncated") is not None for j in js):
            metrics[f"mt_bench/turn{turn}_truncated"] = float(sum(j["truncated"] for j in js))
    return metrics


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
    metrics.update(turn_counts(judgments))
    # a mean over no parsed judgment is absent, not zero: the report shows "n/a" with the failure rate
    return {k: v for k, v in metrics.items() if v == v}, rows


def turn_rows(metrics: dict) -> list[dict]:
    """One row per turn: the score with its judgment, unparsed and truncated counts beside it."""
    return [{"turn": t, "score": metrics.get(f"mt_bench/turn{t}"),
             "judgments": metrics.get(f"mt_bench/turn{t}_judgments"),
             "unparsed": metrics.get(f"mt_bench/turn{t}_unparsed"),
             "truncated": metrics.get(f"mt_bench/turn{t}_truncated")} for t in (1, 2)]


def show_result_command(eval_dir: Path, judge_file: Path, model: str) -> str:
    """The shell command that makes FastChat's show_result.py read our judgments (it looks for
    ``data/<bench>/model_judgment/<judge>_single.jsonl`` under the working directory)."""
    bench, judge = judge_file.parent.parent.name, judge_file.name[:-len("_single.jsonl")]
    return (f"cd \"$(mktemp -d)\" && ln -s {shlex.quote(str(eval_dir.resolve()))} data && python -m "
            f"fastchat.llm_judge.show_result --mode single --bench-name {bench} --judge-model "
            f"{shlex.quote(judge)} --model-list {shlex.quote(model)}")


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
    if cfg.get("answers"):
        answers = existing_answers(Path(cfg["answers"]).expanduser(), questions)
    else:
        answers = generate_answers(ctx, questions, common.temperature_config, int(cfg.get("max_new_tokens", 1024)))
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
    cap = int(cfg.get("judge_max_tokens", FASTCHAT_JUDGE_TOKENS))
    if hasattr(judge, "complete_many"):
        with redirect_stdout(io.StringIO()):  # FastChat prints every placeholder verdict
            prefetch_judgments(judge, matches, name, cap)
    with judge_routed_to(judge.complete, name, cap):
        for m in matches:
            common.play_a_match_single(m, str(out_file))
    judgments = [json.loads(line) for line in out_file.read_text().splitlines()]
    count = token_counter(judge, cfg.get("judge_tokenizer"))
    judgments = mark_truncated(judgments, count, judge_token_cap(judge, cap))
    metrics, rows = summarise(judgments, questions)
    return AdapterResult(metrics=metrics, artifacts=[answer_dir / f"{model}.jsonl", out_file],
                         info={"questions": str(qfile), "n_questions": len(questions), "judge": judge.identity(),
                               "judge_prompts": str(prompt_file), "template": ctx.template,
                               "temperatures": "fastchat.llm_judge.common.temperature_config",
                               "judge_token_cap": judge_token_cap(judge, cap),
                               "truncation_counted": count is not None,
                               "show_result": show_result_command(ctx.out_dir, out_file, model)},
                         tables={"mt_bench_categories": rows, "mt_bench_by_turn": turn_rows(metrics)})
