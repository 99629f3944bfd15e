"""Pairwise comparison as in the paper's group (Cherry LLM, Reflection-Tuning, Mosaic-IT): a judge grades
the model's and the baseline's answers to the same prompt, in both presentation orders.

Per order: the model wins if its grade is higher, ties if equal. Per prompt: win if it wins in one
order and does not lose in the other; lose symmetrically; tie otherwise (including win + lose, the
judge's position bias). Winning score = (wins - losses) / prompts + 1, so 1.0 means parity. The
baseline is the original-IT model of the same study and seed (found in MLflow by the evaluation
runner). A grade line that does not parse is a parse failure; a prompt with a failure in either
order is excluded from the score and counted.
"""
from __future__ import annotations

import json
import re

from mosaic.data.io import write_json

from . import AdapterResult, register
from ..data import DATA_DIR
from ..judges import complete_all

PROMPT = json.loads((DATA_DIR / "pairwise_prompt.json").read_text())
GRADES = re.compile(r"^\s*\**\s*(10|[1-9])(?:\s*/\s*10)?\s*[,;\s]\s*(10|[1-9])(?:\s*/\s*10)?\b")


def parse_grades(text: str) -> tuple[int, int] | None:
    """The two grades on the first non-empty line, or None."""
    for line in text.splitlines():
        if line.strip():
            m = GRADES.match(line)
            return (int(m.group(1)), int(m.group(2))) if m else None
    return None


def outcome(first: tuple[int, int], second: tuple[int, int]) -> str:
    """``first``: grades with the model as Assistant 1; ``second``: with the model as Assistant 2."""
    def side(a: int, b: int) -> int:
        return (a > b) - (a < b)
    s = side(*first) + side(second[1], second[0])
    return "win" if s > 0 else "lose" if s < 0 else "tie"


def winning_score(outcomes: list[str]) -> float:
    return (outcomes.count("win") - outcomes.count("lose")) / len(outcomes) + 1


def judge_messages(question: str, answer_1: str, answer_2: str) -> list[dict]:
    return [{"role": "system", "content": PROMPT["system"]},
            {"role": "user", "content": PROMPT["user"].format(question=question, answer_1=answer_1, answer_2=answer_2)}]


def prompts(cfg: dict) -> list[str]:
    path = cfg.get("prompts_path") or DATA_DIR / "alpaca_eval" / "eval_set.json"
    rows = json.loads(open(path, encoding="utf-8").read())
    out = [r["instruction"] for r in rows]
    return out[:int(cfg["limit"])] if cfg.get("limit") else out


@register("pairwise")
def run(ctx, cfg: dict) -> AdapterResult:
    baseline = cfg.get("baseline_context")
    if baseline is None:
        raise ValueError("pairwise: no baseline run to compare with (eval.pairwise.baseline_variant "
                         f"{cfg.get('baseline_variant', 'none')!r} of the same study and seed was not found)")
    questions = prompts(cfg)
    gen = {"max_new_tokens": int(cfg.get("max_new_tokens", 512))}
    ours, theirs = ctx.generate([[{"role": "user", "content": q}] for q in questions], **gen), \
        baseline.generate([[{"role": "user", "content": q}] for q in questions], **gen)
    judge, max_tokens = ctx.judge, int(cfg.get("judge_max_tokens", 64))

    convs = [m for q, a, b in zip(questions, ours, theirs) for m in (judge_messages(q, a, b), judge_messages(q, b, a))]
    judged = complete_all(judge, convs, max_tokens=max_tokens, temperature=0.0)
    records, outcomes, failures = [], [], 0
    for i, (q, a, b) in enumerate(zip(questions, ours, theirs)):
        texts = judged[2 * i:2 * i + 2]
        grades = [parse_grades(t) for t in texts]
        result = outcome(*grades) if all(grades) else None
        failures += result is None
        if result:
            outcomes.append(result)
        records.append({"instruction": q, "model": a, "baseline": b, "judgments": texts, "grades": grades,
                        "outcome": result})
    out = ctx.out_dir / "pairwise"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "judgments.json", records)
    metrics = {"pairwise/win": float(outcomes.count("win")),
               "pairwise/tie": float(outcomes.count("tie")), "pairwise/lose": float(outcomes.count("lose")),
               "pairwise/n_judged": float(len(outcomes)), "pairwise/parse_failures": float(failures),
               "pairwise/parse_failure_rate": failures / len(questions)}
    if outcomes:  # absent, not 1.0 (parity), when no prompt was judged in both orders
        metrics["pairwise/winning_score"] = winning_score(outcomes)
    return AdapterResult(metrics=metrics, artifacts=[out / "judgments.json"],
                         info={"baseline": baseline.identity(), "judge": judge.identity(), "prompt": PROMPT["name"],
                               "n_prompts": len(questions), "template": ctx.template})
