# faqmine — the two commands are `make demo` and `make test`; both set up .venv first when it is missing.
# `make test-fast` runs the unit tier only: no Spark session, no spark-submit, nothing slow.
SHELL := /bin/bash
# Python 3.11 creates .venv (empty: the first of python3.11, python3 that is 3.11); Java 17+ runs Spark.
PYTHON ?=
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= data/demo
SIM_SIZE ?= 5MB
SIM_SEED ?= 1
# an optional folder of wheels searched as well (a local mirror, a wheelhouse; default: pip's own
# PIP_FIND_LINKS when set); used only when it exists
WHEELS ?= $(PIP_FIND_LINKS)
# torch's CPU build (`+cpu` on Linux and Windows) comes from PyTorch's CPU wheel index, every other package
# from PyPI; a torch wheel in WHEELS replaces that index (a machine without access to it), and
# TORCH_INDEX= (empty) leaves it out in any case.
LOCAL_TORCH := $(if $(WHEELS),$(wildcard $(firstword $(WHEELS))/torch-*.whl))
TORCH_INDEX ?= $(if $(LOCAL_TORCH),,https://download.pytorch.org/whl/cpu)
# Every package of requirements.lock is pinned with ==, so taking each from whichever index has that version
# (unsafe-best-match) cannot pick another release; it lets torch come from TORCH_INDEX although that index
# also carries copies of numpy, jinja2, ... in other versions than the lock's.
UV_INDEXES := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX) --index-strategy unsafe-best-match) \
	$(if $(and $(WHEELS),$(wildcard $(WHEELS))),--find-links $(WHEELS))
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
export SPARK_LOCAL_IP := 127.0.0.1
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup prereqs models lock demo test test-fast lint bench airflow experiment fuzz clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@python=$$(bash scripts/check_prereqs.sh "$(PYTHON)") || exit 1; \
	  test -x $(PY) || $$python -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --python $(PY) --compile-bytecode $(UV_INDEXES) -r requirements.lock
	$(VENV)/bin/uv pip install --python $(PY) --no-deps -e .
	touch $@

setup: prereqs $(VENV)/.installed models

prereqs:
	@bash scripts/check_prereqs.sh "$(PYTHON)" > /dev/null

# Recompile requirements.lock for every platform after a change to pyproject.toml's dependencies
# (torch resolves through pyproject's [tool.uv.sources]: `+cpu` on Linux and Windows, PyPI's on macOS).
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 -o requirements.lock

models: $(VENV)/.installed
	$(PY) -m faqmine.cli models fetch-lid --out models
	$(PY) -m faqmine.cli models build --out models/multilingual-e5-small
	$(PY) -m faqmine.cli models build-onnx --model models/multilingual-e5-small

demo: setup
	bash scripts/demo.sh "$(DATA)" "$(SIM_SIZE)" "$(SIM_SEED)"

test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests

test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not spark and not slow" tests

lint: setup
	$(VENV)/bin/ruff check src jobs dags tests bench training

bench: setup
	$(PY) bench/extract.py

airflow: setup
	bash scripts/airflow_standalone.sh

EXPERIMENT_ARGS ?=
experiment: setup
	bash scripts/experiment.sh $(EXPERIMENT_ARGS)

FUZZ_SECONDS ?= 600
fuzz: setup
	mkdir -p .state/fuzz/corpus .state/fuzz/crashes
	cp -n fuzz/corpus/* .state/fuzz/corpus/
	$(PY) fuzz/fuzz_extract.py .state/fuzz/corpus fuzz/corpus -max_total_time=$(FUZZ_SECONDS) \
		-rss_limit_mb=4096 -artifact_prefix=.state/fuzz/crashes/
	@echo "new corpus entries: .state/fuzz/corpus; crashes (copy into fuzz/regressions/): .state/fuzz/crashes/"

clean:
	rm -rf data/demo .state
