"""AlpacaEval through ``alpaca_eval.evaluate`` with local reference outputs and our judge.

Eval sets (``eval_set``):
  * a path: any JSON array in AlpacaEval's format (instruction, output, optional generator/dataset);
  * ``bundled`` (offline default): ``evaluation/data/alpaca_eval/eval_set.json``, instructions and
    reference answers written by this project;
  * ``official``: the 805 AlpacaEval 2 instructions with GPT-4 Turbo (``gpt4_1106_preview``) reference
    outputs, read from ``reference_path`` or downloaded on request (``download: true``) from the
    alpaca_eval repository (``results/gpt4_1106_preview/model_outputs.json``, data CC-BY-NC-4.0) into
    ``$MOSAIC_DATA_CACHE/alpaca_eval/``. The length-controlled win rate is only defined for this set
    (its GLM uses the official instruction order); alpaca_eval computes it.

The judge is called through alpaca_eval's annotator machinery (prompt template, order randomisation,
parser) with our judge as ``fn_completions``; the annotator config and its prompt are this project's
(``evaluation/data/alpaca_eval_annotator``). A judgment that does not parse is dropped by alpaca_eval;
we count those and report the parse-failure rate next to the win rate, which covers parsed ones only
(absent, not zero, when none parsed). ``model_outputs`` (optional): an AlpacaEval ``model_outputs.json``
whose answers are judged as they are, matched to the eval set by instruction, without generating.
"""
from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

from mosaic.data.io import write_json

from . import AdapterResult, register
from ..data import DATA_DIR
from ..judges import complete_all

OFFICIAL_URL = ("https://raw.githubusercontent.com/tatsu-lab/alpaca_eval/main/results/gpt4_1106_preview/"
                "model_outputs.json")
ANNOTATOR = DATA_DIR / "alpaca_eval_annotator" / "configs.yaml"


def official_path(cfg: dict) -> Path:
    if cfg.get("reference_path"):
        path = Path(cfg["reference_path"]).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"eval.alpaca_eval.reference_path: {path} does not exist")
        return path
    cache = Path(os.environ.get("MOSAIC_DATA_CACHE", Path.home() / ".cache" / "mosaic-it" / "datasets"))
    path = cache / "alpaca_eval" / "gpt4_1106_preview_model_outputs.json"
    if path.exists():
        return path
    if not cfg.get("download"):
        raise FileNotFoundError(f"the official AlpacaEval 2 set is not in {path}; set eval.alpaca_eval.download=true "
                                f"to fetch {OFFICIAL_URL}, or eval.alpaca_eval.reference_path=<local copy>")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    try:
        urllib.request.urlretrieve(OFFICIAL_URL, tmp)
    except OSError as e:
        raise RuntimeError(f"could not download {OFFICIAL_URL}: {e}") from None
    os.replace(tmp, path)
    return path


def load_reference(path: Path) -> list[dict]:
    """Rows in AlpacaEval's format (a JSON array of {instruction, output, generator, dataset})."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a JSON array ({e})") from None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: AlpacaEval outputs must be a JSON array of objects")
    for i, r in enumerate(rows):
        for key in ("instruction", "output"):
            if not isinstance(r, dict) or not isinstance(r.get(key), str) or not r[key].strip():
                raise ValueError(f"{path}: row {i}: field {key!r} missing or empty")
    return rows


def existing_outputs(path: Path, reference: list[dict]) -> list[str]:
    """The outputs of an AlpacaEval ``model_outputs.json`` for each reference instruction, in its order
    (``eval.alpaca_eval.model_outputs``: score a model's answers without generating). Every instruction
    needs exactly one output; one missing or given twice is an error naming it."""
    rows = load_reference(path)
    by_instruction: dict[str, str] = {}
    for i, r in enumerate(rows):
        if r["instruction"] in by_instruction:
            raise ValueError(f"{path}: row {i}: instruction given twice: {r['instruction'][:80]!r}")
        by_instruction[r["instruction"]] = r["output"]
    missing = [j for j, r in enumerate(reference) if r["instruction"] not in by_instruction]
    if missing:
        raise ValueError(f"{path}: {len(missing)} of {len(reference)} evaluation instructions have no output, "
                         f"the first (eval-set row {missing[0]}): {reference[missing[0]]['instruction'][:80]!r}")
    return [by_instruction[r["instruction"]] for r in reference]


def judge_completions(judge, seen: list[str]):
    """alpaca_eval's ``fn_completions`` contract over our judge: ChatML prompt strings in, texts out
    (also appended to ``seen``)."""
    from alpaca_eval.utils import prompt_to_chatml


    def complete(prompts, max_tokens: int = 64, temperature: float = 0.0, **_):
        t = time.perf_counter()
        texts = complete_all(judge, [prompt_to_chatml(p) for p in prompts], max_tokens=max_tokens,
                             temperature=temperature)
        seen.extend(texts)
        per = (time.perf_counter() - t) / max(1, len(texts))
        return {"completions": texts, "price_per_example": [0.0] * len(texts), "time_per_example": [per] * len(texts)}
    return complete


def _evaluate(alpaca_eval, ctx, out: Path, lc: bool, seen: list[str]):
    # caching_path=None: our judge caches every judgment already, and alpaca_eval 0.6.6 fails under pandas 3
    # when it reloads its own cache of integer preferences ("Invalid value '1.5' for dtype 'int64'").
    return alpaca_eval.evaluate(
        model_outputs=str(out / "model_outputs.json"), reference_outputs=str(out / "reference_outputs.json"),
        annotators_config=str(ANNOTATOR), name=ctx.model_id, output_path=str(out), precomputed_leaderboard=None,
        fn_metric="get_length_controlled_winrate" if lc else "get_winrate",
        sort_by="length_controlled_winrate" if lc else "win_rate", is_return_instead_of_print=True,
        caching_path=None, seed=ctx.seed, fn_completions=judge_completions(ctx.judge, seen))


def parseable(text: str) -> bool:
    """Whether the annotator's own parser (regex_parser with our config's patterns) finds exactly one verdict."""
    import yaml
    from alpaca_eval.completion_parsers import regex_parser

    config = next(iter(yaml.safe_load(ANNOTATOR.read_text()).values()))
    return bool(text) and len(regex_parser(text, dict(config["completion_parser_kwargs"]["outputs_to_match"]))) == 1


@register("alpaca_eval")
def run(ctx, cfg: dict) -> AdapterResult:
    import alpaca_eval

    source = cfg.get("eval_set", "bundled")
    if source == "bundled":
        ref_path = DATA_DIR / "alpaca_eval" / "eval_set.json"
    elif source == "official":
        ref_path = official_path(cfg)
    else:
        ref_path = Path(source).expanduser()
        if not ref_path.exists():
            raise FileNotFoundError(f"eval.alpaca_eval.eval_set: {ref_path} does not exist "
                                    "(expected bundled, official, or a JSON array in AlpacaEval's format)")
    reference = load_reference(ref_path)
    if cfg.get("limit"):
        reference = reference[:int(cfg["limit"])]
    out = ctx.out_dir / "alpaca_eval"
    out.mkdir(parents=True, exist_ok=True)
    if cfg.get("model_outputs"):
        texts = existing_outputs(Path(cfg["model_outputs"]).expanduser(), reference)
    else:
        texts = ctx.generate([[{"role": "user", "content": r["instruction"]}] for r in reference],
                             max_new_tokens=int(cfg.get("max_new_tokens", 512)))
    outputs = [{"instruction": r["instruction"], "output": t, "generator": ctx.model_id,
                "dataset": r.get("dataset", "bundled")} for r, t in zip(reference, texts)]
    write_json(out / "model_outputs.json", outputs)  # the official model_outputs.json format
    write_json(out / "reference_outputs.json", reference)
    lc = source == "official" and len(reference) == 805
    seen: list[str] = []
    try:
        board, annotations = _evaluate(alpaca_eval, ctx, out, lc, seen)
    except (TypeError, ValueError, KeyError):  # alpaca_eval fails when no judgment parsed
        if not seen or any(parseable(t) for t in seen):
            raise
        board, annotations = None, []
    parsed = sum(1 for a in annotations if a.get("preference") is not None and a["preference"] == a["preference"])
    failures = len(outputs) - parsed
    metrics = {"alpaca_eval/n_judged": float(parsed), "alpaca_eval/parse_failures": float(failures),
               "alpaca_eval/parse_failure_rate": failures / len(outputs),
               "alpaca_eval/avg_output_chars": sum(len(o["output"]) for o in outputs) / len(outputs)}
    if board is not None:  # absent, not zero, when nothing parsed
        row = board.loc[ctx.model_id]
        metrics["alpaca_eval/win_rate"] = float(row["win_rate"])
        metrics["alpaca_eval/standard_error"] = float(row.get("standard_error", float("nan")))
        if lc:
            metrics["alpaca_eval/length_controlled_win_rate"] = float(row["length_controlled_winrate"])
    write_json(out / "annotations.json", annotations)
    return AdapterResult(metrics=metrics,
                         artifacts=[out / "model_outputs.json", out / "annotations.json"],
                         info={"eval_set": source, "reference": str(ref_path), "n": len(outputs),
                               "outputs": cfg.get("model_outputs") or "generated",
                               "judge": ctx.judge.identity(), "template": ctx.template,
                               "metric": "length_controlled_winrate" if lc else "win_rate",
                               "alpaca_eval_version": alpaca_eval.__version__})
