"""`mosaic eval` (evaluation/cli.py): any checkpoint or existing outputs, recorded like a trained run's
evaluation, found again instead of redone, and shown by the report as a reference row."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.cli import EvalError, main, resolve_model
from mosaic.report.build import build_report

REPO = Path(__file__).resolve().parents[2]
AE_SET = REPO / "evaluation" / "data" / "alpaca_eval" / "eval_set.json"


def store_args(tmp_path: Path) -> list[str]:
    return [f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}", f"runs_dir={tmp_path / 'runs'}"]


def scripted(url: str) -> list[str]:
    return ["judge=openai", "judge.model=scripted", f"judge.base_url={url}", "judge.api_key_env=''",
            "judge.max_retries=0"]


def test_models_that_cannot_be_found_are_named_with_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvalError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))
    with pytest.raises(EvalError, match="not a hub id"):
        resolve_model(str(tmp_path / "missing"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(EvalError, match="huggingface-cli download nobody/no-such-model"):
        resolve_model("nobody/no-such-model")


def test_existing_outputs_are_judged_without_a_model_then_found_and_shown_as_a_reference(
        tmp_path, scripted_judge, capsys):
    rows = json.loads(AE_SET.read_text())[:3]
    outputs = tmp_path / "model_outputs.json"  # AlpacaEval's layout; "[ref]" wins with the scripted judge
    outputs.write_text(json.dumps([{"instruction": r["instruction"], "output": f"[ref] {i}", "generator": "canned"}
                                   for i, r in enumerate(rows)]))
    argv = ["eval", "--name", "canned", "--alpaca-outputs", str(outputs), "eval=[alpaca_eval]",
            "eval.alpaca_eval.limit=3", *scripted(scripted_judge), *store_args(tmp_path)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "alpaca_eval/win_rate\t100.0000" in first and "alpaca_eval/n_judged\t3.0000" in first
    assert main(argv) == 0
    assert "finished earlier" in capsys.readouterr().out  # same outputs, settings and name: not redone
    outputs.write_text(json.dumps([{"instruction": r["instruction"], "output": "plain", "generator": "canned"}
                                   for r in rows]))
    assert main(argv) == 0
    third = capsys.readouterr().out
    assert "finished earlier" not in third and "alpaca_eval/n_judged\t3.0000" in third  # changed: judged again
    rate = float(next(ln for ln in third.splitlines() if ln.startswith("alpaca_eval/win_rate\t")).split("\t")[1])
    assert rate < 100.0  # no "[ref]" any more: the scripted judge no longer always prefers these outputs

    build_report("evaluations", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "results")
    table = (tmp_path / "results" / "tables" / "references.md").read_text()
    assert f"| canned | 1 | {rate:.3f} |" in table  # the newest evaluation of that name
    trail = json.loads((tmp_path / "results" / "runs.json").read_text())
    assert {e["kind"] for e in trail["runs"].values()} == {"reference"}


def test_what_cannot_run_is_refused_before_any_work(tmp_path, capsys):
    outputs = tmp_path / "model_outputs.json"
    outputs.write_text("[]")
    assert main(["eval", "--name", "x", "--alpaca-outputs", str(outputs), "eval=[alpaca_eval,lm_eval]",
                 *store_args(tmp_path)]) == 2
    assert "--model is needed: lm_eval" in capsys.readouterr().err
    assert main(["eval", "--name", "x", "--alpaca-outputs", str(outputs), "eval=[lm_eval]", *store_args(tmp_path)]) == 2
    assert "alpaca_eval is not selected" in capsys.readouterr().err
    assert main(["eval", "--model", "smollm2", *store_args(tmp_path)]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()


def test_the_console_script_evaluates_a_checkpoint_directory(tiny_checkpoint, tmp_path, scripted_judge):
    """The README's command shape through the installed `mosaic` script, on the tiny model."""
    script = Path(sys.executable).parent / "mosaic"
    out = subprocess.run([str(script), "eval", "--model", str(tiny_checkpoint), "--name", "tiny",
                          "eval=[lm_eval,mt_bench]", "eval.mt_bench.limit=1", "eval.mt_bench.max_new_tokens=8",
                          "generation.batch_size=4", *scripted(scripted_judge), *store_args(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = dict(line.split("\t") for line in out.stdout.splitlines() if "\t" in line)
    assert "lm_eval/average" in metrics and float(metrics["mt_bench/average"]) == pytest.approx(5.5)


def test_existing_mt_bench_answers_are_judged_without_a_model(tmp_path, scripted_judge, capsys):
    from fastchat.llm_judge import common

    from evaluation.adapters.mt_bench import existing_answers, question_set

    questions = common.load_questions(str(question_set({"questions": "bundled"})[0]), None, None)[:2]
    answers = tmp_path / "model_answer" / "theirs.jsonl"  # FastChat's layout
    answers.parent.mkdir()
    answers.write_text("".join(json.dumps({"question_id": q["question_id"], "model_id": "theirs",
                                           "choices": [{"index": 0, "turns": ["first", "second"]}]}) + "\n"
                               for q in questions))
    assert main(["eval", "--name", "theirs", "--mt-bench-outputs", str(answers), "eval=[mt_bench]",
                 "eval.mt_bench.limit=2", *scripted(scripted_judge), *store_args(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "mt_bench/turn1\t7.0000" in out and "mt_bench/turn2\t4.0000" in out
    with pytest.raises(ValueError, match="question 999999: no answer"):
        existing_answers(answers, [{"question_id": 999999, "turns": ["a", "b"]}])
    answers.write_text('{"question_id": 81, "choices": [{"turns": "not a list"}]}\n')
    with pytest.raises(ValueError, match=r"line 1: field 'choices\[0\].turns'"):
        existing_answers(answers, questions)
