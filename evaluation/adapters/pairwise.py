"""Pairwise comparison as in the paper's group (Cherry LLM, Reflection-Tuning, Mosaic-IT): a judge grades
the model's and the baseline's answers to the same prompt, in both presentation orders.

Per order: the model wins if its grade is higher, ties if equal. Per prompt: win if it wins in one
order and does not lose in the other; lose symmetrically; tie otherwise (including win + lose, the
judge's position bias). Winning score = (wins - losses) / prompts + 1, so 1.0 means parity. The
baseline is the original-IT model of the same study and seed (found in MLflow by the evaluation
runner). A grade line that does not parse is a parse failure; a prompt with a failure in either
order is excluded from the score and counted.

Judge prompt (``prompt``): this project's own by default, or a file in FastChat's legacy review-prompt
JSONL layout (``fastchat/eval/table/prompt.jsonl``: ``prompt_id, system_prompt, prompt_template,
defaults, description, category``), which is how the group's own prompt is distributed. As in FastChat,
a question is judged with the row of its category, else the ``general`` row (or the row ``prompt_id``
names), and the grades are the first line of the review. Test sets (``prompts``): ``evaluation.pairwise_sets``.
"""
from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from mosaic.data.io import write_json

from . import AdapterResult, register
from ..data import DATA_DIR
from ..judges import complete_all
from ..pairwise_sets import load_prompts, read_jsonl

OWN_PROMPT = DATA_DIR / "pairwise_prompt.json"
REQUIRED_SLOTS = ("question", "answer_1", "answer_2")
GRADE = r"(\d{1,2}(?:\.\d+)?)(?:\s*/\s*10)?"
# first line: optional markup, two grades (whole or decimal, optionally "/10") separated by spaces, a comma or ";"
GRADES = re.compile(rf"^[\s*(\[]*{GRADE}\s*(?:[,;]\s*|\s+){GRADE}(?![\d.]*\d)(?!\s*[,;]?\s*\d)")


@dataclass(frozen=True)
class ReviewPrompt:
    """One judge prompt: the system message, a user template and the defaults that fill its other slots."""
    name: str
    system: str
    template: str
    defaults: dict = field(default_factory=dict)
    category: str = "general"
    prompt_id: int | None = None

    def messages(self, question: str, answer_1: str, answer_2: str) -> list[dict]:
        user = self.template.format(**{**self.defaults, "question": question, "answer_1": answer_1,
                                       "answer_2": answer_2})
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def own_prompt() -> ReviewPrompt:
    p = json.loads(OWN_PROMPT.read_text())
    return ReviewPrompt(p["name"], p["system"], p["user"])


def template_slots(template: str) -> set[str]:
    """Placeholder names in a str.format template (raises ValueError on unbalanced braces)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def review_prompt_row(path: Path, line: int, row: dict) -> ReviewPrompt:
    """One row of a FastChat review-prompt JSONL, checked so that formatting can never fail later."""
    where = f"{path}: line {line}"
    for key, kind in (("prompt_id", int), ("system_prompt", str), ("prompt_template", str), ("defaults", dict),
                      ("category", str)):
        if not isinstance(row.get(key), kind) or isinstance(row.get(key), bool):
            raise ValueError(f"{where}: field {key!r} missing or not {kind.__name__} (FastChat review-prompt "
                             f"layout: prompt_id, system_prompt, prompt_template, defaults, description, category)")
    if not isinstance(row.get("description", ""), str):
        raise ValueError(f"{where}: field 'description' is not str")
    defaults = row["defaults"]
    for key, value in defaults.items():
        if not isinstance(value, str):
            raise ValueError(f"{where}: field 'defaults': {key!r} is not a string")
        if key in REQUIRED_SLOTS:
            raise ValueError(f"{where}: field 'defaults': {key!r} is filled per question and cannot have a default")
    try:
        slots = template_slots(row["prompt_template"])
    except ValueError as e:
        raise ValueError(f"{where}: field 'prompt_template': {e} (write a literal brace as {{{{ or }}}})") from None
    missing = [s for s in REQUIRED_SLOTS if s not in slots]
    if missing:
        raise ValueError(f"{where}: field 'prompt_template' has no {{{missing[0]}}} placeholder")
    unknown = sorted(slots - set(REQUIRED_SLOTS) - set(defaults))
    if unknown:
        raise ValueError(f"{where}: field 'prompt_template': placeholder {{{unknown[0]}}} is neither "
                         f"{', '.join(REQUIRED_SLOTS)} nor a key of field 'defaults'")
    return ReviewPrompt(f"{path.name}#{row['prompt_id']}", row["system_prompt"], row["prompt_template"],
                        dict(defaults), row["category"], row["prompt_id"])


def load_review_prompts(path: str | Path) -> list[ReviewPrompt]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"eval.pairwise.prompt: {path}: no such file (a FastChat review-prompt JSONL)")
    prompts = [review_prompt_row(path, n, row) for n, row in read_jsonl(path)]
    if not prompts:
        raise ValueError(f"{path}: no prompt rows")
    ids = [p.prompt_id for p in prompts]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup is not None:
        raise ValueError(f"{path}: prompt_id {dup} appears more than once")
    return prompts


def prompt_chooser(prompts: list[ReviewPrompt], prompt_id: int | None, path: str = ""):
    """question category -> prompt: FastChat's rule (the category's row, else ``general``), or one fixed row."""
    if prompt_id is not None:
        fixed = next((p for p in prompts if p.prompt_id == int(prompt_id)), None)
        if fixed is None:
            ids = [p.prompt_id for p in prompts]
            raise ValueError(f"eval.pairwise.prompt_id={prompt_id}: not in {path} (ids {ids})")
        return lambda category: fixed
    by_category = {p.category: p for p in reversed(prompts)}  # the first row of a category wins
    fallback = by_category.get("general") or (prompts[0] if len(prompts) == 1 else None)
    if fallback is None:
        raise ValueError(f"{path}: no row with category 'general' to judge other questions with; set "
                         f"eval.pairwise.prompt_id to one of {[p.prompt_id for p in prompts]}")
    return lambda category: by_category.get(category, fallback)


def parse_grades(text: str) -> tuple[float, float] | None:
    """The two grades (1-10, decimals allowed) on the review's first non-empty line, or None."""
    for line in text.splitlines():
        if line.strip():
            m = GRADES.match(line)
            if not m:
                return None
            grades = float(m.group(1)), float(m.group(2))
            return grades if all(1 <= g <= 10 for g in grades) else None
    return None


def outcome(first: tuple[float, float], second: tuple[float, float]) -> str:
    """``first``: grades with the model as Assistant 1; ``second``: with the model as Assistant 2."""
    def side(a: float, b: float) -> int:
        return (a > b) - (a < b)
    s = side(*first) + side(second[1], second[0])
    return "win" if s > 0 else "lose" if s < 0 else "tie"


def winning_score(outcomes: list[str]) -> float:
    return (outcomes.count("win") - outcomes.count("lose")) / len(outcomes) + 1


def tally(prefix: str, outcomes: list[str | None]) -> dict[str, float]:
    """win/tie/lose counts, failures and (when anything was judged) the winning score of one group of prompts."""
    judged = [o for o in outcomes if o]
    failures = len(outcomes) - len(judged)
    metrics = {f"{prefix}/win": float(judged.count("win")), f"{prefix}/tie": float(judged.count("tie")),
               f"{prefix}/lose": float(judged.count("lose")), f"{prefix}/n_judged": float(len(judged)),
               f"{prefix}/parse_failures": float(failures), f"{prefix}/parse_failure_rate": failures / len(outcomes)}
    if judged:  # absent, not 1.0 (parity), when no prompt was judged in both orders
        metrics[f"{prefix}/winning_score"] = winning_score(judged)
    return metrics


def questions(cfg: dict) -> list[dict]:
    """The test items: ``prompts`` (bundled | a set | all | a path); ``prompts_path`` is the older spelling."""
    items = load_prompts(cfg.get("prompts_path") or cfg.get("prompts") or "bundled", cfg.get("sets_dir"))
    return items[:int(cfg["limit"])] if cfg.get("limit") else items


def review_prompts(cfg: dict):
    """(chooser: category -> ReviewPrompt, description for the record)."""
    if not cfg.get("prompt"):
        mine = own_prompt()
        if cfg.get("prompt_id") is not None:
            raise ValueError("eval.pairwise.prompt_id needs eval.pairwise.prompt (a FastChat review-prompt JSONL)")
        return (lambda category: mine), mine.name
    path = str(Path(cfg["prompt"]).expanduser())
    return prompt_chooser(load_review_prompts(path), cfg.get("prompt_id"), path), path


@register("pairwise")
def run(ctx, cfg: dict) -> AdapterResult:
    baseline = cfg.get("baseline_context")
    if baseline is None:
        raise ValueError("pairwise: no baseline run to compare with (eval.pairwise.baseline_variant "
                         f"{cfg.get('baseline_variant', 'none')!r} of the same study and seed was not found)")
    choose, prompt_source = review_prompts(cfg)  # a bad prompt file fails before anything is generated
    items = questions(cfg)
    texts = [it["instruction"] for it in items]
    gen = {"max_new_tokens": int(cfg.get("max_new_tokens", 512))}
    ours, theirs = ctx.generate([[{"role": "user", "content": q}] for q in texts], **gen), \
        baseline.generate([[{"role": "user", "content": q}] for q in texts], **gen)
    judge, max_tokens = ctx.judge, int(cfg.get("judge_max_tokens", 64))

    used = [choose(it["category"]) for it in items]
    convs = [m for p, q, a, b in zip(used, texts, ours, theirs) for m in (p.messages(q, a, b), p.messages(q, b, a))]
    judged = complete_all(judge, convs, max_tokens=max_tokens, temperature=0.0)
    records, outcomes = [], []
    for i, (it, p, a, b) in enumerate(zip(items, used, ours, theirs)):
        reviews = judged[2 * i:2 * i + 2]
        grades = [parse_grades(t) for t in reviews]
        outcomes.append(outcome(*grades) if all(grades) else None)
        records.append({"set": it["set"], "id": it["id"], "category": it["category"], "instruction": it["instruction"],
                        "model": a, "baseline": b, "prompt": p.name, "judgments": reviews, "grades": grades,
                        "outcome": outcomes[-1]})
    out = ctx.out_dir / "pairwise"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "judgments.json", records)
    metrics = tally("pairwise", outcomes)
    sets = list(dict.fromkeys(it["set"] for it in items))
    if len(sets) > 1:  # the group reports each test set as well as the total
        for name in sets:
            metrics.update(tally(f"pairwise/{name}", [o for o, it in zip(outcomes, items) if it["set"] == name]))
    return AdapterResult(metrics=metrics, artifacts=[out / "judgments.json"],
                         info={"baseline": baseline.identity(), "judge": judge.identity(), "prompt": prompt_source,
                               "prompts_used": sorted({p.name for p in used}), "sets": sets,
                               "n_prompts": len(items), "template": ctx.template})
