"""The paper group's pairwise test sets, read from local copies in each set's published layout.

The group (Cherry LLM, Superfiltering, Mosaic-IT) judges on Vicuna (80), Koala (180), WizardLM (218),
Self-Instruct (252) and LIMA (300). None is bundled or downloaded here (licences differ, LIMA is gated):
each is read from ``sets_dir`` under the name it is published with (``<set>/<file>``) or the flat name
the group's scripts use (``<set>_test_set.jsonl``), so a copy of either layout works unchanged. A missing
file is an error that names the file, where it is published and where to put it.

Every loader returns items ``{"set", "id", "instruction", "category"}``; ``instruction`` is the whole
user turn the model answers.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .data import DATA_DIR


@dataclass(frozen=True)
class TestSet:
    name: str
    size: int                    # prompts in the published file
    files: tuple[str, ...]       # accepted paths under sets_dir, the published name first
    published: str               # where the file is published
    layout: str                  # one line on the row layout, for errors and the README
    read: Callable[[dict, Callable], tuple[str, str | None, object]]  # row, field getter -> (text, category, id)


def _field(path: Path, line: int, row: dict):
    """A getter that names the file, line and field of anything missing or of the wrong type."""
    def get(key: str, kind: type | tuple, optional: bool = False):
        value = row.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, kind) or (kind is str and not value.strip()):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ValueError(f"{path}: line {line}: field {key!r} missing, empty or not {want}")
        return value
    return get


def _vicuna(row: dict, get) -> tuple:
    # FastChat's legacy question.jsonl has ``text``; its llm_judge vicuna_bench copy has one-element ``turns``
    if "text" not in row and isinstance(row.get("turns"), list):
        turns = get("turns", list)
        if len(turns) != 1 or not isinstance(turns[0], str):
            raise ValueError("field 'turns' must hold one question string")
        return turns[0], get("category", str, optional=True), get("question_id", (int, str))
    return get("text", str), get("category", str, optional=True), get("question_id", (int, str))


def _koala(row: dict, get) -> tuple:
    return get("prompt", str), None, row.get("id")


def _wizardlm(row: dict, get) -> tuple:
    category = row.get("Skill", row.get("skill"))
    return get("Instruction", str), category if isinstance(category, str) else None, row.get("idx")


def _self_instruct(row: dict, get) -> tuple:
    """Instruction, then the first instance's input (the group's scripts use that one instance)."""
    instruction, instances = get("instruction", str), get("instances", list)
    if not instances or not isinstance(instances[0], dict) or not isinstance(instances[0].get("input", ""), str):
        raise ValueError("field 'instances' must be a non-empty list of {input, output} objects")
    extra = instances[0].get("input", "").strip()
    return (f"{instruction}\n\n{extra}" if extra else instruction), get("motivation_app", str, optional=True), \
        row.get("id")


def _lima(row: dict, get) -> tuple:
    """The first turn of ``conversations`` is the prompt (the test split has no responses)."""
    turns = get("conversations", list)
    if not turns or not isinstance(turns[0], str) or not turns[0].strip():
        raise ValueError("field 'conversations' must start with the prompt string")
    return turns[0], get("source", str, optional=True), None


SETS = {s.name: s for s in (
    TestSet("vicuna", 80, ("vicuna/question.jsonl", "vicuna_test_set.jsonl"),
            "FastChat's legacy Vicuna evaluation, fastchat/eval/table/question.jsonl in "
            "https://github.com/lm-sys/FastChat (history before the llm_judge rewrite; the same 80 questions "
            "are fastchat/llm_judge/data/vicuna_bench/question.jsonl, also read)",
            "JSONL {question_id, text, category}", _vicuna),
    TestSet("koala", 180, ("koala/koala_test_set.jsonl", "koala_test_set.jsonl"),
            "https://github.com/arnav-gudibande/koala-test-set (koala_test_set.jsonl)",
            "JSONL {id, prompt}", _koala),
    TestSet("wizardlm", 218, ("wizardlm/WizardLM_testset.jsonl", "wizardlm_test_set.jsonl"),
            "https://github.com/nlpxucan/WizardLM (WizardLM/data/WizardLM_testset.jsonl)",
            "JSONL {idx, Skill, Difficulty, Instruction}", _wizardlm),
    TestSet("self_instruct", 252, ("self_instruct/user_oriented_instructions.jsonl", "sinstruct_test_set.jsonl"),
            "https://github.com/yizhongw/self-instruct (human_eval/user_oriented_instructions.jsonl)",
            "JSONL {id, motivation_app, instruction, instances: [{input, output}]}", _self_instruct),
    TestSet("lima", 300, ("lima/test.jsonl", "lima_test_set.jsonl"),
            "the Hugging Face dataset GAIR/lima (gated: accept its terms; file test.jsonl)",
            "JSONL {conversations: [prompt], source}", _lima),
)}
ALL = tuple(SETS)  # the group's order: Vicuna, Koala, WizardLM, Self-Instruct, LIMA (1,030 prompts)
BUNDLED = DATA_DIR / "alpaca_eval" / "eval_set.json"


def default_sets_dir() -> Path:
    return Path(os.environ.get("MOSAIC_DATA_CACHE", Path.home() / ".cache" / "mosaic-it" / "datasets")) / "pairwise"


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line; a line that is not a JSON object is named."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}: line {n}: expected a JSON object, got {type(row).__name__}")
        rows.append((n, row))
    return rows


def read_set_file(spec: TestSet, path: Path) -> list[dict]:
    """Items from one file in ``spec``'s layout; errors name the file, line and field."""
    items = []
    for n, row in read_jsonl(path):
        get = _field(path, n, row)
        try:
            text, category, ident = spec.read(row, get)
        except ValueError as e:
            msg = str(e)
            raise ValueError(msg if msg.startswith(str(path)) else f"{path}: line {n}: {msg}") from None
        items.append({"set": spec.name, "id": ident if ident is not None else n, "instruction": text,
                      "category": category})
    if not items:
        raise ValueError(f"{path}: no prompts (expected {spec.layout})")
    return items


def set_file(spec: TestSet, sets_dir: Path) -> Path:
    for name in spec.files:
        if (sets_dir / name).is_file():
            return sets_dir / name
    raise FileNotFoundError(
        f"pairwise test set {spec.name!r} ({spec.size} prompts): {sets_dir / spec.files[0]} not found (nor "
        f"{', '.join(str(sets_dir / f) for f in spec.files[1:])}). It is not downloaded automatically: get "
        f"{Path(spec.files[0]).name} from {spec.published} and put it there, or point eval.pairwise.sets_dir "
        f"at a folder that holds it")


def detect(path: Path, row: dict) -> TestSet:
    """The set whose layout a user's own JSONL file follows, from the fields of its first row."""
    for key, name in (("text", "vicuna"), ("turns", "vicuna"), ("prompt", "koala"), ("Instruction", "wizardlm"),
                      ("instances", "self_instruct"), ("conversations", "lima")):
        if key in row:
            return SETS[name]
    raise ValueError(f"{path}: line 1: no prompt field of a known layout (text, turns, prompt, Instruction, "
                     f"instruction+instances, conversations; or a JSON array of {{instruction}} objects)")


def read_path(path: Path) -> list[dict]:
    """A user's file: a JSON array of ``{instruction}`` objects (AlpacaEval's layout) or JSONL in a set's layout."""
    if not path.is_file():
        raise FileNotFoundError(f"eval.pairwise.prompts: {path}: no such file")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        rows = json.loads(text)
        items = []
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict) or not isinstance(row.get("instruction"), str) or not row["instruction"]:
                raise ValueError(f"{path}: item {n}: field 'instruction' missing, empty or not str")
            items.append({"set": path.stem, "id": n, "instruction": row["instruction"],
                          "category": row.get("dataset") if isinstance(row.get("dataset"), str) else None})
        return items
    rows = read_jsonl(path)
    if not rows:
        raise ValueError(f"{path}: no prompts")
    spec = detect(path, rows[0][1])
    return [{**item, "set": path.stem} for item in read_set_file(spec, path)]


def load_prompts(which: str, sets_dir: str | Path | None = None) -> list[dict]:
    """``bundled`` (this project's AlpacaEval-format set), a set name, ``all`` (the five in order) or a path."""
    which = str(which)
    base = Path(sets_dir).expanduser() if sets_dir else default_sets_dir()
    if which == "bundled":
        return [{**item, "set": "bundled"} for item in read_path(BUNDLED)]
    names = ALL if which == "all" else (which,) if which in SETS else None
    if names is None:
        if os.sep in which or which.endswith((".json", ".jsonl")):
            return read_path(Path(which).expanduser())
        raise ValueError(f"eval.pairwise.prompts: {which!r} is not one of bundled, {', '.join(ALL)}, all, "
                         f"or a path to a prompt file")
    return [item for name in names for item in read_set_file(SETS[name], set_file(SETS[name], base))]
