# faqmine — the two commands are `make demo` and `make test`; both set up .venv first when it is missing.
# `make test-fast` runs the unit tier only: no Spark session, no spark-submit, nothing slow.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= data/demo
SIM_SIZE ?= 5MB
SIM_SEED ?= 1
WHEELS ?= /opt/wheels
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
export SPARK_LOCAL_IP := 127.0.0.1
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup models demo test test-fast lint bench airflow experiment fuzz clean

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --python $(PY) --compile-bytecode --find-links $(WHEELS) -r requirements.lock
	$(VENV)/bin/uv pip install --python $(PY) --no-deps -e .
	touch $@

setup: $(VENV)/.installed models

models: $(VENV)/.installed
	$(PY) -m faqmine.cli models fetch-lid --out models
	$(PY) -m faqmine.cli models build --out models/multilingual-e5-small

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
