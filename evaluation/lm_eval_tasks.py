"""Which lm-eval tasks a run scores, with what shots and headline metric, and whether their data is here.

A task is named as lm-eval names it (a task or a group; a group is scored with lm-eval's own
``aggregate_metric_list``, e.g. MMLU's size-weighted mean over its 57 subjects). In a config it is written
``name``, ``name:shots``, ``name:shots:metric`` or ``name:shots:metric:filter``, or as a mapping
``{task, shots, metric, filter}``; shots left out use the task's own default, a metric left out is the
first one lm-eval reports, and the filter left out is ``none`` or the task's only one (GSM8K's answer
extraction is one of two filters: ``strict-match``, ``flexible-extract``).

The pre-flight check walks each task's YAML (groups and tags down to their leaf tasks) without building
anything (merging configs as lm-eval's ``TaskFactory`` does), so a dataset that is neither in the Hugging
Face caches nor a local file, an unknown name, a tag or group with no single score, and a metric or filter
the YAML does not declare are all named before the model is loaded. Whether a cached dataset holds every
split cannot be told without loading it; such a failure is caught per task at run time instead.
"""
from __future__ import annotations

import difflib
import glob
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .data import DATA_DIR

LOCAL_BUILDERS = ("json", "csv", "parquet", "text", "arrow", "pandas")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    shots: int | None = None  # None: the task's own default
    metric: str | None = None  # None: the first metric lm-eval reports for it
    filter: str | None = None  # None: "none", or the task's only filter

    def as_dict(self) -> dict:
        return asdict(self)


SUITES: dict[str, tuple[TaskSpec, ...]] = {
    "bundled": tuple(TaskSpec(t, 0, "acc", "none") for t in
                     ("mosaic_mc_arithmetic", "mosaic_mc_science", "mosaic_mc_commonsense", "mosaic_mc_language")),
    # The Open LLM Leaderboard v1 (retired 2024): its six tasks, shots and headline metrics. GSM8K's
    # strict-match filter takes the number after "####", as the leaderboard's harness did.
    "openllm_v1": (TaskSpec("arc_challenge", 25, "acc_norm", "none"), TaskSpec("hellaswag", 10, "acc_norm", "none"),
                   TaskSpec("mmlu", 5, "acc", "none"), TaskSpec("truthfulqa_mc2", 0, "acc", "none"),
                   TaskSpec("winogrande", 5, "acc", "none"), TaskSpec("gsm8k", 5, "exact_match", "strict-match")),
    "ifeval": (TaskSpec("ifeval", 0, "prompt_level_strict_acc", "none"),),
}
BUNDLED_GROUP = "mosaic_mc"  # the four bundled tasks as one lm-eval group (size-weighted acc)


def parse_spec(item, where: str) -> TaskSpec:
    """One entry of ``eval.lm_eval.tasks``; ``where`` names it in errors."""
    if isinstance(item, str):
        parts = item.split(":")
        if len(parts) > 4 or not parts[0]:
            raise ValueError(f"{where}: {item!r} is not name[:shots[:metric[:filter]]]")
        fields = dict(zip(("task", "shots", "metric", "filter"), parts))
    elif isinstance(item, dict):
        unknown = sorted(set(item) - {"task", "shots", "metric", "filter"})
        if unknown or not item.get("task"):
            raise ValueError(f"{where}: a task mapping takes task (required), shots, metric, filter; got {dict(item)}")
        fields = dict(item)
    else:
        raise ValueError(f"{where}: expected a task name or a mapping, got {item!r}")
    shots = fields.get("shots")
    if shots in ("", None):
        shots = None
    else:
        try:
            shots = int(shots)
        except (TypeError, ValueError):
            shots = -1
        if shots < 0:
            raise ValueError(f"{where}: shots must be an integer >= 0, got {fields.get('shots')!r}")
    return TaskSpec(str(fields["task"]), shots, fields.get("metric") or None, fields.get("filter") or None)


def selected_specs(cfg: dict) -> tuple[str, tuple[TaskSpec, ...]]:
    """(label, specs): ``eval.lm_eval.tasks`` when given (label ``tasks``), else the suite."""
    tasks = cfg.get("tasks")
    if tasks:
        if isinstance(tasks, (str, dict)):
            tasks = [tasks]
        specs = tuple(parse_spec(t, f"eval.lm_eval.tasks[{i}]") for i, t in enumerate(tasks))
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"eval.lm_eval.tasks names {dup} more than once")
        return "tasks", specs
    suite = cfg.get("suite", "bundled")
    if suite not in SUITES:
        raise ValueError(f"eval.lm_eval.suite must be one of {sorted(SUITES)}, got {suite!r}")
    return suite, SUITES[suite]


TASK_YAML = """task: {task}
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files:
    test: {test}
    dev: {dev}
test_split: test
fewshot_split: dev
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list:
  - {{metric: acc, aggregation: mean, higher_is_better: true}}
  - {{metric: acc_norm, aggregation: mean, higher_is_better: true}}
metadata: {{version: 1.0}}
"""
GROUP_YAML = """group: {group}
task: [{tasks}]
aggregate_metric_list:
  - {{metric: acc, weight_by_size: true}}
  - {{metric: acc_norm, weight_by_size: true}}
metadata: {{version: 1.0}}
"""


def bundled_task_dir(out: Path) -> Path:
    """Task YAMLs for the bundled MC sets (and their group), pointing at the files of the installed package."""
    tasks = out / "lm_eval_tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    names = [s.name for s in SUITES["bundled"]]
    for task in names:
        data = DATA_DIR / "mc" / task
        for split in ("test", "dev"):
            if not (data / f"{split}.jsonl").exists():
                raise FileNotFoundError(f"bundled lm-eval task {task}: missing {data / f'{split}.jsonl'}")
        (tasks / f"{task}.yaml").write_text(TASK_YAML.format(task=task, test=json.dumps(str(data / "test.jsonl")),
                                                             dev=json.dumps(str(data / "dev.jsonl"))))
    (tasks / f"{BUNDLED_GROUP}.yaml").write_text(GROUP_YAML.format(group=BUNDLED_GROUP, tasks=", ".join(names)))
    return tasks


# ----------------------------------------------------------------------------- pre-flight

def _full_config(entry) -> dict:
    from lm_eval.tasks._yaml_loader import load_yaml

    if entry.yaml_path is not None:
        return load_yaml(entry.yaml_path, resolve_func=False)
    return dict(entry.cfg or {})


def leaf_configs(manager, name: str, overrides: dict | None = None) -> list[tuple[str, dict]]:
    """[(leaf task name as lm-eval reports it, its config)] under a registered task, group or tag, read from
    YAML only and merged as lm-eval's ``TaskFactory`` merges them (group-level keys and member overrides)."""
    from lm_eval.tasks._index import Kind

    entry = manager.task_index[name]
    if entry.kind is Kind.GROUP:
        return _group_leaves(manager, name, _full_config(entry), overrides or {})
    if entry.kind is Kind.TAG:
        return [(t, {**_full_config(manager.task_index[t]), "task": t, **(overrides or {})})
                for t in sorted(entry.tags) if t in manager.task_index]
    return [(name, {**_full_config(entry), "task": name, **(overrides or {})})]


def _group_leaves(manager, group: str, raw: dict, overrides: dict) -> list[tuple[str, dict]]:
    from lm_eval.tasks._factory import GROUP_FIELD_NAMES

    merged = {**{k: v for k, v in raw.items() if k not in GROUP_FIELD_NAMES}, **overrides}
    out = []
    for item in raw.get("task") or []:
        if isinstance(item, dict) and "group" in item:
            inner = {k: v for k, v in item.items() if k != "group"}
            out += (leaf_configs(manager, item["group"], {**merged, **inner}) if item["group"] in manager.task_index
                    else _group_leaves(manager, f"{group}::{item['group']}", item, merged))
            continue
        base = item if isinstance(item, str) else item.get("task") if isinstance(item, dict) else None
        if not isinstance(base, str):
            continue  # lm-eval itself refuses such an entry, naming it
        item_overrides = merged if isinstance(item, str) else {**merged, **item}
        if base in manager.task_index:
            out += leaf_configs(manager, base, item_overrides)
        else:  # a task defined inside the group: lm-eval names it group::task
            out.append((f"{group}::{base}", {**item_overrides, "task": f"{group}::{base}"}))
    return out


def _data_files(cfg: dict) -> list[str]:
    files = (cfg.get("dataset_kwargs") or {}).get("data_files") or []
    if isinstance(files, dict):
        files = list(files.values())
    if isinstance(files, str):
        files = [files]
    return [f for item in files for f in ([item] if isinstance(item, str) else item)]


def _local_files(cfg: dict) -> tuple[list[Path], list[str]]:
    """(local data files found, patterns or paths that match nothing); ``hf://`` and URLs are not local."""
    found, gone = [], []
    for f in _data_files(cfg):
        if "://" in f:
            continue
        matches = [Path(m) for m in sorted(glob.glob(os.path.expanduser(f)))] if glob.has_magic(f) else \
            [Path(os.path.expanduser(f))] if Path(os.path.expanduser(f)).exists() else []
        (found.extend(matches) if matches else gone.append(f))
    return found, gone


def _hub_repo(url: str) -> str:
    """``org/name`` of an ``hf://datasets/org/name[@revision]/path`` data file."""
    org, name = url.removeprefix("hf://datasets/").split("/")[:2]
    return f"{org}/{name.split('@')[0]}"


def hub_cached(path: str, name: str | None) -> bool:
    """Whether a Hub dataset is in the Hub download cache or prepared in the ``datasets`` cache (which
    snake-cases the repository name and may suffix the config with a hash of its arguments)."""
    import datasets
    from datasets.naming import camelcase_to_snakecase
    from huggingface_hub import constants

    if (Path(constants.HF_HUB_CACHE) / f"datasets--{path.replace('/', '--')}").is_dir():
        return True
    owner, _, repo = path.rpartition("/")
    prepared = Path(datasets.config.HF_DATASETS_CACHE) / ((f"{owner}___" if owner else "") + camelcase_to_snakecase(repo))
    if not name:
        return prepared.is_dir()
    return prepared.is_dir() and any(p.is_dir() and (p.name == name or p.name.startswith(f"{name}-"))
                                     for p in prepared.iterdir())


def missing_data(cfg: dict) -> tuple[str, str | None] | None:
    """What of a leaf task's data is not on this machine, as (what, config), or None."""
    path = cfg.get("dataset_path")
    if not path or cfg.get("custom_dataset"):
        return None  # data made by the task's own code: checked when it runs
    if path in LOCAL_BUILDERS:
        gone = _local_files(cfg)[1]
        if gone:
            return f"local file(s) {gone}", None
        repos = sorted({_hub_repo(f) for f in _data_files(cfg) if f.startswith("hf://datasets/")})
        missing = [r for r in repos if not hub_cached(r, None)]
        return (f"Hub dataset {missing[0]}", None) if missing else None
    if Path(os.path.expanduser(path)).exists():
        return None
    name = cfg.get("dataset_name")
    return None if hub_cached(path, name) else (f"Hub dataset {path}", name)


def _code_files(value) -> list[Path]:
    """The Python files a raw task config points at (``!function`` values read unresolved as dir/module.fn)."""
    if isinstance(value, dict):
        return [f for v in value.values() for f in _code_files(v)]
    if isinstance(value, list):
        return [f for v in value for f in _code_files(v)]
    if isinstance(value, str) and "." in value and os.sep in value:
        module = Path(value.rsplit(".", 1)[0] + ".py")
        return [module] if module.is_file() else []
    return []


def fingerprint(leaves: list[tuple[str, dict]]) -> str:
    """Hash of a task's leaf configs, the bytes of their local data files and of the task code they name:
    a finished task is reused only while none changed (Hub datasets are identified by name and config, as
    lm-eval loads them; a local dataset directory by its path)."""
    h = hashlib.sha256(json.dumps(leaves, sort_keys=True, default=str).encode())
    for _, cfg in leaves:
        files = _local_files(cfg)[0] if cfg.get("dataset_path") in LOCAL_BUILDERS else []
        for f in sorted(set(files + _code_files(cfg))):
            if f.is_file():
                h.update(str(f).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _listed(items: list[str], n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" ... ({len(items)} in all)" if len(items) > n else "")


def _metric_problem(spec: TaskSpec, group_cfg: dict | None, leaves: list[tuple[str, dict]]) -> str | None:
    """A metric or filter the task cannot report, found from its YAML (None when the YAML cannot tell)."""
    if group_cfg is not None:
        aggregates = [m.get("metric") for m in group_cfg.get("aggregate_metric_list") or [] if isinstance(m, dict)]
        if not aggregates:
            return (f"{spec.name!r} is a group with no aggregate score (lm-eval reports only its tasks); "
                    f"name its tasks instead: {_listed([n for n, _ in leaves], 8)}")
        if spec.metric and spec.metric not in aggregates:
            return f"group {spec.name!r} aggregates {aggregates}, not {spec.metric!r}"
    for leaf, cfg in leaves:
        metrics = [m.get("metric") for m in cfg.get("metric_list") or [] if isinstance(m, dict)]
        if spec.metric and metrics and spec.metric not in metrics:
            return f"{leaf!r} reports metrics {metrics}, not {spec.metric!r}"
        filters = [f.get("name") for f in cfg.get("filter_list") or [] if isinstance(f, dict)] or ["none"]
        if spec.filter and spec.filter not in filters:
            return f"{leaf!r} has filters {filters}, not {spec.filter!r}"
        if spec.filter is None and len(filters) > 1 and "none" not in filters:
            return f"{leaf!r} has filters {filters}: name one (name:shots:metric:filter)"
    return None


def preflight(manager, specs, download: bool) -> dict[str, list[tuple[str, dict]]]:
    """Check every task before any model work: names lm-eval knows (a tag, or a group without an aggregate,
    is refused: neither has one score), metrics and filters its YAML declares, and data that is here.
    Returns {task: [(leaf task, its config)]}; raises naming every problem at once."""
    from lm_eval.tasks._index import Kind

    problems, leaves, missing = [], {}, {}
    for spec in specs:
        entry = manager.task_index.get(spec.name)
        if entry is None:
            near = difflib.get_close_matches(spec.name, manager.all_tasks, n=3)
            problems.append(f"{spec.name!r} is not an lm-eval task or group" + (f" (did you mean {near}?)" if near else ""))
            continue
        if entry.kind is Kind.TAG:
            problems.append(f"{spec.name!r} is a tag (tasks with no aggregate score); name a group or its tasks: "
                            + _listed(sorted(entry.tags), 8))
            continue
        found = leaf_configs(manager, spec.name)
        problem = _metric_problem(spec, _full_config(entry) if entry.kind is Kind.GROUP else None, found)
        if problem:
            problems.append(problem)
            continue
        leaves[spec.name] = found
        for leaf, cfg in found:
            gap = missing_data(cfg)
            if gap:
                what, config = gap
                configs, tasks = missing.setdefault(what, ([], []))
                tasks.append(leaf)
                if config and config not in configs:
                    configs.append(config)
    if problems:
        raise ValueError("eval.lm_eval: " + "; ".join(problems))
    hub = [w for w in missing if w.startswith("Hub")]
    if hub and download and len(hub) == len(missing):
        print(f"[lm_eval] not cached, lm-eval will download: {', '.join(w.split(' ', 2)[2] for w in hub)}", flush=True)
    elif missing:
        lines = [f"  {what}" + (f" (config {_listed(configs)})" if configs else "") + f": needed by {_listed(tasks)}"
                 for what, (configs, tasks) in missing.items()]
        hint = "" if not hub else (
            "\nOn a machine that reaches the Hub, fetch them into the Hub cache (e.g. `hf download --repo-type "
            "dataset <path>`), copy the cache (HF_HUB_CACHE) here and run with HF_HUB_OFFLINE=1"
            + ("." if download else "; or set eval.lm_eval.download=true where the Hub is reachable."))
        raise FileNotFoundError("eval.lm_eval: data missing before any model work:\n" + "\n".join(lines) + hint)
    return leaves
