#!/usr/bin/env bash
# `make demo`: simulate a multilingual crawl, run every pipeline stage on it, print what came out.
# Usage: scripts/demo.sh DATA_ROOT SIM_SIZE SIM_SEED   (the Makefile passes DATA, SIM_SIZE, SIM_SEED)
set -euo pipefail
DATA=${1:-data/demo}
SIZE=${2:-30MB}
SEED=${3:-1}
SHARE=${FAQ_SHARE:-0.2}  # share of FAQ pages; real crawls have ~1-2%, the demo wants enough QAs per language
PY=.venv/bin/python
CRAWL="$DATA/crawl"
export PYSPARK_PYTHON="$PWD/$PY" PYSPARK_DRIVER_PYTHON="$PWD/$PY" SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
SUBMIT=(.venv/bin/spark-submit --master "${SPARK_MASTER:-local[*]}" --driver-memory "${DRIVER_MEMORY:-4g}")
started=$(date +%s)

step() { printf '\n== %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }

if [ "$(cat "$CRAWL/.params" 2>/dev/null)" != "$SIZE $SEED $SHARE" ]; then
  step "simulating a $SIZE multilingual crawl (seed $SEED, FAQ share $SHARE) into $CRAWL"
  rm -rf "$CRAWL"
  $PY -m faqmine.cli simulate --out "$CRAWL" --size "$SIZE" --seed "$SEED" --faq-share "$SHARE"
  echo "$SIZE $SEED $SHARE" > "$CRAWL/.params"
else
  step "reusing the simulated crawl in $CRAWL"
fi

step "extract: WARC -> qa_raw"
"${SUBMIT[@]}" jobs/extract.py --input "$CRAWL/warc.paths.gz" --output "$DATA/qa_raw"

step "summary"
$PY -m faqmine.cli summary "$DATA"

step "check: every dataset against its contract"
$PY -m faqmine.cli check "$DATA"
printf '\nDone in %ss. Datasets are under %s; query them with e.g.\n' "$(( $(date +%s) - started ))" "$DATA"
cat <<EOT
  .venv/bin/python -c "import duckdb; print(duckdb.sql(\"SELECT crawl, markup, count(*) AS qas FROM read_parquet('$DATA/qa_raw/**/*.parquet', hive_partitioning=true) GROUP BY ALL\"))"
EOT
