"""``mosaic eval``: evaluate any model, not only the runs this project trained.

    mosaic eval --model /path/to/checkpoint 'eval=[lm_eval,mt_bench]'
    mosaic eval --model HuggingFaceTB/SmolLM2-135M-Instruct --template chat_template eval=[alpaca_eval]
    mosaic eval --name gpt-answers --alpaca-outputs model_outputs.json eval=[alpaca_eval] judge=openai

``--model`` is a checkpoint directory, ``smollm2`` (the prepared SmolLM2-135M-Instruct) or a hub id
already in the local Hugging Face cache (nothing is downloaded). Outputs that exist (AlpacaEval's
``model_outputs.json``, FastChat's ``model_answer/<model>.jsonl``) are scored without generating, and
then no model is needed. The overrides are the Hydra groups of a trained run (``eval=``, ``judge=``,
``generation.*``, ``seed=``, ``study=``), and the result is an MLflow run like a trained run's
evaluation (tags ``kind=eval``, ``variant=<name>``, ``seed``; the same ``eval/<adapter>/...`` metrics
and artifacts), so the report can show it as a reference row. An evaluation with the same model (or
outputs), settings and name that finished earlier is found and not redone.

``mosaic`` never imports ``evaluation``: the ``mosaic`` console script is this module's ``main``, which
runs ``eval`` here and hands every other command to ``mosaic.cli``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDY = "evaluations"  # the default MLflow experiment of `mosaic eval` runs (``study=`` overrides it)


class EvalError(ValueError):
    """A problem with what ``mosaic eval`` was given, said in its terms."""


def resolve_model(spec: str) -> Path:
    """A directory with a model: as given, ``smollm2``, or a hub id found in the local Hugging Face cache."""
    if spec == "smollm2":
        from mosaic.models.smollm2 import model_dir

        return model_dir()
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise EvalError(f"--model {spec}: {path} has no config.json (a Transformers checkpoint directory)")
        return path.resolve()
    if spec.count("/") != 1 or spec.startswith(("/", ".", "~")):
        raise EvalError(f"--model {spec}: no such directory, and not a hub id (owner/name)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(spec, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError) as e:
        raise EvalError(f"--model {spec}: not in the local Hugging Face cache ({type(e).__name__}); on a machine "
                        f"with internet run `huggingface-cli download {spec}`, or pass a checkpoint directory") from None


def compose(overrides: list[str]) -> dict:
    """The run config of the overrides (conf/config.yaml), evaluations selected as for a trained run."""
    from hydra import compose as hydra_compose, initialize_config_dir
    from omegaconf import OmegaConf

    from mosaic.settings import select_evals

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = OmegaConf.to_container(hydra_compose("config", overrides=overrides), resolve=True)
    return select_evals(cfg)


def with_outputs(cfg: dict, alpaca: Path | None, mt_bench: Path | None) -> dict:
    """``cfg`` with existing outputs handed to their adapters (which then do not generate)."""
    evals = {k: dict(v) for k, v in cfg["eval"].items()}
    for name, path, key in (("alpaca_eval", alpaca, "model_outputs"), ("mt_bench", mt_bench, "answers")):
        if path is None:
            continue
        if name not in evals:
            raise EvalError(f"--{name.replace('_', '-').replace('-eval', '')}-outputs given but {name} is not "
                            f"selected: add it to eval=[...]")
        if not path.is_file():
            raise EvalError(f"{path}: no such file")
        evals[name][key] = str(path.resolve())
    return {**cfg, "eval": evals}


def outputs_id(paths: list[Path]) -> str:
    """What stands for the checkpoint when only existing outputs are scored: a hash of their bytes."""
    from mosaic.stages import digest, file_digest

    return "outputs:" + digest([file_digest(p).hexdigest() for p in sorted(paths)])


def evaluate_model(args: argparse.Namespace) -> dict:
    from mosaic.secrets import redact, redact_overrides, restore_secrets, take_secret_overrides
    from mosaic.stages import checkpoint_hash, digest, eval_settings
    from mosaic.tracking import (client_for, experiment_id, find_finished, flatten, git_commit, mark_complete,
                                 tracking_uri)

    overrides = take_secret_overrides(list(args.overrides))
    if not any(o.split("=")[0].lstrip("+") == "study" for o in overrides):
        overrides = [f"study={STUDY}", *overrides]
    cfg = restore_secrets(compose(overrides))
    if not cfg["eval"]:
        raise EvalError("nothing to evaluate: select adapters, e.g. 'eval=[lm_eval,mt_bench]'")
    checkpoint = resolve_model(args.model) if args.model else None
    given = [p for p in (args.alpaca_outputs, args.mt_bench_outputs) if p is not None]
    cfg = with_outputs(cfg, args.alpaca_outputs, args.mt_bench_outputs)
    needs_model = [n for n in cfg["eval"] if not (n == "alpaca_eval" and args.alpaca_outputs)
                   and not (n == "mt_bench" and args.mt_bench_outputs)]
    if checkpoint is None and needs_model:
        raise EvalError(f"--model is needed: {', '.join(needs_model)} generate(s) or score(s) with the model")
    if "pairwise" in cfg["eval"]:
        raise EvalError("pairwise compares two trained runs of a study (make reproduce); it is not a "
                        "single-model evaluation")
    name = args.name or (checkpoint.name if checkpoint else None)
    if not name:
        raise EvalError("--name is needed when only outputs are scored")
    template = args.template or cfg["model"]["template"]
    cfg = {**cfg, "variant": name, "run_name": f"eval-{name}-s{cfg['seed']}",
           "model": {**cfg["model"], "template": template}}
    ident = checkpoint_hash(checkpoint) if checkpoint else outputs_id(given)
    key = digest({"kind": "eval", "model": ident, "name": name, **eval_settings(cfg)})
    client = client_for(cfg, REPO)
    prior = find_finished(client, cfg["study"], kind="eval", eval_run_key=key)
    if prior is not None and not args.force:
        print(f"[eval] {name}: finished earlier (MLflow run {prior.info.run_id[:8]}), skipped", flush=True)
        return {"run_id": prior.info.run_id, "metrics": dict(prior.data.metrics), "skipped": True}
    import mlflow

    from mosaic.runner import runs_root

    from .run import evaluate

    uri = tracking_uri((cfg.get("tracking") or {}).get("uri"), REPO)
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=experiment_id(uri, cfg["study"]), run_name=cfg["run_name"]) as active:
        mlflow.set_tags({"kind": "eval", "eval_run_key": key, "variant": name, "seed": str(cfg["seed"]),
                         "model_source": args.model or "outputs", "checkpoint": str(checkpoint or ""),
                         "checkpoint_hash": ident, "template_id": template, "git_commit": git_commit(REPO),
                         "hydra_overrides": json.dumps(redact_overrides(list(args.overrides)))})
        mlflow.log_params(flatten(redact(cfg)))  # as a trained run's: the report reads ``seed`` from here
        mlflow.log_dict(redact(cfg), "config.json")
        run_id = active.info.run_id
    print(f"[eval] {name}: {checkpoint or 'existing outputs'} with template {template}; MLflow run {run_id[:8]} "
          f"in study {cfg['study']}", flush=True)
    t = time.perf_counter()
    results = evaluate(cfg, checkpoint, runs_root(cfg, REPO), REPO, run_id,
                       checkpoint_id=ident)
    mark_complete(cfg, REPO, run_id)
    metrics = {k: v for res in results.values() if isinstance(res, dict) for k, v in res.get("metrics", {}).items()}
    print(f"[eval] {name}: done in {time.perf_counter() - t:.0f}s", flush=True)
    return {"run_id": run_id, "metrics": metrics, "skipped": False}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mosaic eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="checkpoint directory, `smollm2`, or a hub id in the local cache")
    p.add_argument("--name", help="what MLflow and the report call this model (default: the directory name)")
    p.add_argument("--template", help="prompt template (default: model.template of the config, vicuna_v1.1; "
                   "a released chat model usually wants chat_template)")
    p.add_argument("--alpaca-outputs", type=Path, help="an AlpacaEval model_outputs.json to score as is")
    p.add_argument("--mt-bench-outputs", type=Path, help="a FastChat model_answer/<model>.jsonl to judge as is")
    p.add_argument("--force", action="store_true", help="redo an evaluation that finished earlier")
    p.add_argument("overrides", nargs="*", help="Hydra overrides: 'eval=[lm_eval,mt_bench]', judge=openai, ...")
    return p


def eval_main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from mosaic.settings import ConfigError

    try:
        out = evaluate_model(args)
    except (EvalError, ConfigError, FileNotFoundError) as e:
        print(f"mosaic eval: error: {e}", file=sys.stderr)
        return 2
    for k, v in sorted(out["metrics"].items()):
        print(f"{k}\t{v:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["eval"]:
        return eval_main(argv[1:])
    from mosaic.cli import main as mosaic_main

    return mosaic_main(argv)


if __name__ == "__main__":
    sys.exit(main())
