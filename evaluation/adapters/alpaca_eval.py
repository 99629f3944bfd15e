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

Annotators (``annotator``):
  * ``mosaic`` (default, offline): this project's config and prompt (``evaluation/data/alpaca_eval_annotator``)
    through alpaca_eval's annotator machinery (prompt template, order randomisation, parser) with our
    judge (``judge=local`` or ``judge=openai``) as ``fn_completions``;
  * the name of a config shipped with alpaca_eval (``weighted_alpaca_eval_gpt4_turbo``, AlpacaEval 2's
    own logprob annotator; ``alpaca_eval_gpt4``, ...) or a path to one: run by alpaca_eval's own decoders
    against the ``judge=openai`` endpoint. The config and its prompts are copied into the run directory
    with ``client_config_path`` pointing at a client config written there (``base_url`` only); the key
    is put in the process environment (``OPENAI_API_KEY``) for the duration of the call from the
    variable ``judge.api_key_env`` names, and is written nowhere. ``annotator_model`` overrides the
    config's ``model_name`` (e.g. the name a local server serves).
Length-controlled win rate: computed whenever the eval set is the official 805 instructions, recognised
by content (805 distinct instructions whose ``dataset`` counts are AlpacaEval's: helpful_base 129, koala
156, oasst 188, selfinstruct 252, vicuna 80). Its GLM needs alpaca_eval's ``df_gamed.csv`` (hub dataset
tatsu-lab/alpaca_eval), checked before the first judge call: ``lc_features_path`` or the Hugging Face
cache, else an error saying what to download. Nothing is written into site-packages
(``save_weights_dir=None``). A judgment that does not parse is dropped by alpaca_eval;
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
from ..judges import DEFAULT_CONCURRENCY, complete_all
from ..judges.usage import price_for

OFFICIAL_URL = ("https://raw.githubusercontent.com/tatsu-lab/alpaca_eval/main/results/gpt4_1106_preview/"
                "model_outputs.json")
ANNOTATOR = DATA_DIR / "alpaca_eval_annotator" / "configs.yaml"
OFFICIAL_DATASETS = {"helpful_base": 129, "koala": 156, "oasst": 188, "selfinstruct": 252, "vicuna": 80}
LC_FEATURES = ("tatsu-lab/alpaca_eval", "df_gamed.csv")  # hub dataset repo and file the LC GLM regularises with


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


def is_official(reference: list[dict]) -> bool:
    """The AlpacaEval 2 set, by content: 805 distinct instructions with its per-dataset counts."""
    from collections import Counter

    return (len(reference) == sum(OFFICIAL_DATASETS.values()) and len({r["instruction"] for r in reference}) == 805
            and dict(Counter(r.get("dataset") for r in reference)) == OFFICIAL_DATASETS)


def lc_features(cfg: dict) -> Path:
    """The local ``df_gamed.csv`` the length-controlled GLM needs, found before any judgment is paid for."""
    if cfg.get("lc_features_path"):
        path = Path(cfg["lc_features_path"]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"eval.alpaca_eval.lc_features_path: {path} does not exist")
        return path
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(LC_FEATURES[0], LC_FEATURES[1], repo_type="dataset", local_files_only=True))
    except Exception as e:  # LocalEntryNotFoundError, or an offline error from an older huggingface_hub
        raise FileNotFoundError(
            f"the length-controlled win rate needs {LC_FEATURES[1]} from the hub dataset {LC_FEATURES[0]}, which "
            f"is not in the Hugging Face cache ({type(e).__name__}); on a machine with internet run `huggingface-cli "
            f"download {LC_FEATURES[0]} {LC_FEATURES[1]} --repo-type dataset` (then copy the cache), or set "
            "eval.alpaca_eval.lc_features_path=<local df_gamed.csv>") from None


def lc_metric(features: Path):
    """alpaca_eval's LC win rate, reading the GLM's regulariser from ``features`` and saving no weights.

    alpaca_eval fetches the file with ``hf_hub_download`` inside the metric; for the length of the call
    that name in its module returns the local file instead, and is restored after."""
    from alpaca_eval.metrics import glm_winrate

    def metric(annotations, **kwargs):
        fetch = glm_winrate.hf_hub_download
        glm_winrate.hf_hub_download = lambda *a, **k: str(features)
        try:
            return glm_winrate.get_length_controlled_winrate(annotations, save_weights_dir=None, **kwargs)
        finally:
            glm_winrate.hf_hub_download = fetch
    return metric


def shipped_annotator(name: str) -> Path:
    """The directory of an annotator config: one shipped with alpaca_eval, or a path to a directory or YAML."""
    import alpaca_eval

    path = Path(name).expanduser()
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path.parent
    if path.is_dir() and (path / "configs.yaml").is_file():
        return path
    shipped = Path(alpaca_eval.__file__).parent / "evaluators_configs" / name
    if (shipped / "configs.yaml").is_file():
        return shipped
    raise FileNotFoundError(f"eval.alpaca_eval.annotator: {name!r} is not 'mosaic', a directory with configs.yaml, "
                            f"or an annotator shipped with alpaca_eval {alpaca_eval.__version__} (see "
                            "alpaca_eval/evaluators_configs/)")


def endpoint_annotator(cfg: dict, judge_cfg: dict, out: Path) -> Path:
    """A copy of a shipped annotator in ``out`` whose OpenAI decoder calls the configured endpoint.

    Prompt templates resolve against the parent of the config's directory (alpaca_eval's rule), so each
    template the config names is copied beside it under the same relative path."""
    import yaml

    if judge_cfg.get("kind") != "openai":
        raise ValueError(f"eval.alpaca_eval.annotator={cfg['annotator']!r} calls an OpenAI-compatible endpoint "
                         "through alpaca_eval's decoders: use judge=openai (judge.base_url, judge.api_key_env)")
    source = shipped_annotator(str(cfg["annotator"]))
    config = yaml.safe_load((source / "configs.yaml").read_text())
    decoders = {e.get("fn_completions") for e in config.values() if isinstance(e, dict)}
    if decoders != {"openai_completions"}:
        raise ValueError(f"{source / 'configs.yaml'}: fn_completions {sorted(map(str, decoders))}; only annotators "
                         "that call openai_completions run against judge.base_url here")
    root = out / "annotator"
    client = out / "openai_client_config.yaml"  # base_url only: the key stays in the environment
    client.write_text(yaml.safe_dump({"default": [{"base_url": judge_cfg["base_url"]}]}))
    for name, entry in config.items():
        if not isinstance(entry, dict):
            continue
        template = entry.get("prompt_template")
        if template:
            src = source.parent / template
            if not src.is_file():
                raise FileNotFoundError(f"{source / 'configs.yaml'}: {name}.prompt_template {template!r} not found "
                                        f"at {src}")
            (root / template).parent.mkdir(parents=True, exist_ok=True)
            (root / template).write_text(src.read_text())
        kwargs = dict(entry.get("completions_kwargs") or {})
        kwargs["client_config_path"] = str(client)
        if cfg.get("annotator_model"):
            kwargs["model_name"] = str(cfg["annotator_model"])
        # judge.concurrency bounds alpaca_eval's own request pool as it bounds ours
        kwargs["num_procs"] = int(judge_cfg.get("concurrency") or DEFAULT_CONCURRENCY["openai"])
        price = price_for(str(kwargs.get("model_name", "")), judge_cfg.get("price_per_million"))
        if price:  # alpaca_eval prices total tokens at one rate: the input one, which dominates a judge prompt
            kwargs["price_per_token"] = price["input"] / 1e6
        entry["completions_kwargs"] = kwargs
    target = root / source.name / "configs.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


class endpoint_key:
    """``OPENAI_API_KEY`` set from the variable ``judge.api_key_env`` names (``EMPTY`` for a keyless local
    server) while alpaca_eval's decoders run, then restored."""

    def __init__(self, judge_cfg: dict):
        env = judge_cfg.get("api_key_env")
        self.value = (os.environ.get(env) if env else None) or "EMPTY"

    def __enter__(self):
        self.saved = os.environ.get("OPENAI_API_KEY")
        os.environ["OPENAI_API_KEY"] = self.value

    def __exit__(self, *exc):
        if self.saved is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = self.saved


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


def _evaluate(alpaca_eval, ctx, cfg: dict, out: Path, features: Path | None, seen: list[str]):
    # caching_path=None: our judge caches every judgment already, and alpaca_eval 0.6.6 fails under pandas 3
    # when it reloads its own cache of integer preferences ("Invalid value '1.5' for dtype 'int64'").
    common = dict(model_outputs=str(out / "model_outputs.json"), reference_outputs=str(out / "reference_outputs.json"),
                  name=ctx.model_id, output_path=str(out), precomputed_leaderboard=None,
                  fn_metric=lc_metric(features) if features else "get_winrate",
                  sort_by="length_controlled_winrate" if features else "win_rate", is_return_instead_of_print=True,
                  caching_path=None, seed=ctx.seed)
    annotator = str(cfg.get("annotator") or "mosaic")
    if annotator == "mosaic":
        return alpaca_eval.evaluate(annotators_config=str(ANNOTATOR), fn_completions=judge_completions(ctx.judge, seen),
                                    **common)
    config = endpoint_annotator(cfg, ctx.judge_cfg, out)
    with endpoint_key(ctx.judge_cfg):
        return alpaca_eval.evaluate(annotators_config=str(config), **common)


def shipped_usage(annotations: list[dict]) -> dict[str, float]:
    """What a shipped annotator spent, from alpaca_eval's own per-annotation accounting (its decoders do not
    report prompt and completion tokens apart): ``calls`` judgments, ``usd_estimate`` the sum of
    ``preference_price_per_example`` (total tokens at the judge's input price; absent when any is unknown)."""
    if not annotations:  # alpaca_eval kept none (nothing parsed): the calls made are unknown, so none are claimed
        return {}
    prices = [a.get("preference_price_per_example") for a in annotations]
    out = {"judge_usage/alpaca_eval/calls": float(len(annotations))}
    if prices and all(isinstance(p, (int, float)) and p == p for p in prices):
        out["judge_usage/alpaca_eval/usd_estimate"] = float(sum(prices))
    return out


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
    lc = is_official(reference)
    features = lc_features(cfg) if lc else None  # before anything is generated or paid for
    if str(cfg.get("annotator") or "mosaic") != "mosaic":
        shipped_annotator(str(cfg["annotator"]))
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
    seen: list[str] = []
    try:
        board, annotations = _evaluate(alpaca_eval, ctx, cfg, out, features, seen)
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
    if str(cfg.get("annotator") or "mosaic") != "mosaic":
        metrics.update(shipped_usage(annotations))
    write_json(out / "annotations.json", annotations)
    return AdapterResult(metrics=metrics,
                         artifacts=[out / "model_outputs.json", out / "annotations.json"],
                         info={"eval_set": source, "reference": str(ref_path), "n": len(outputs),
                               "outputs": cfg.get("model_outputs") or "generated",
                               "judge": ctx.judge.identity(), "template": ctx.template,
                               "annotator": str(cfg.get("annotator") or "mosaic"),
                               "metric": "length_controlled_winrate" if lc else "win_rate",
                               "alpaca_eval_version": alpaca_eval.__version__})
