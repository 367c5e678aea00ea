#!/usr/bin/env bash
# `make demo`: simulate a multilingual crawl, run the whole pipeline on it as the Airflow DAG faqmine_crawl
# (`airflow dags test`: SQLite, no scheduler needed; Spark local[*]), then print what came out.
#   extract -> clean_langid -> dedup -> embed -> build_benchmarks + align_bitext -> mine_negatives -> card
# Usage: scripts/demo.sh DATA_ROOT SIM_SIZE SIM_SEED   (the Makefile passes DATA, SIM_SIZE, SIM_SEED)
# Environment: FAQ_SHARE (share of FAQ pages, default 0.2), MIN_QAS (smallest benchmark language, default 40),
# SPARK_MASTER (default local[*]), AIRFLOW_HOME (default .state/airflow).
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/.."
DATA=${1:-data/demo}
SIZE=${2:-5MB}
SEED=${3:-1}
SHARE=${FAQ_SHARE:-0.2}  # real crawls have ~1-2% FAQ pages; the demo wants enough QAs per language
MIN_QAS=${MIN_QAS:-40}
CRAWL_ID="SIM-DEMO-$SEED"
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
CRAWL="$DATA/crawl"
# shellcheck source=scripts/airflow_env.sh
source scripts/airflow_env.sh
export FAQMINE_QUIET_SPARK=1
PY=.venv/bin/python
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

step "Airflow metadata database (SQLite) in $AIRFLOW_HOME"
airflow db migrate > "$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }

conf=$(printf '{"warc_input": "%s", "data_root": "%s", "crawl": "%s", "min_qas": %s}' \
  "$CRAWL/warc.paths.gz" "$DATA" "$CRAWL_ID" "$MIN_QAS")
step "airflow dags test faqmine_crawl -c '$conf'   (task logs: $DATA/_airflow.log)"
echo "  one line per finished task (task, state, seconds, and for a Spark stage its dataset's records in -> out):"
# The log is read as Airflow writes it (unbuffered), so each task's line appears when the task ends.
set +e
PYTHONUNBUFFERED=1 airflow dags test faqmine_crawl -c "$conf" 2>&1 \
  | $PY -m faqmine.cli progress --tee "$DATA/_airflow.log" --data-root "$DATA"
status=("${PIPESTATUS[@]}")
set -e
if [ "${status[0]}" != 0 ] || [ "${status[1]}" != 0 ]; then
  if [ "${status[1]}" = 0 ]; then  # no task failed, yet airflow did: show how its output ends
    tail -30 "$DATA/_airflow.log"
  fi
  echo "demo: the DAG run failed; the whole log is $DATA/_airflow.log" >&2
  exit 1
fi

step "summary"
$PY -m faqmine.cli summary "$DATA"

step "check: every dataset against its contract"
$PY -m faqmine.cli check "$DATA"
printf '\nDone in %ss. Datasets are under %s (dataset card: %s/README.md); query them with e.g.\n' \
  "$(( $(date +%s) - started ))" "$DATA" "$DATA"
cat <<EOT
  .venv/bin/python -c "import duckdb; print(duckdb.sql(\"SELECT language, count(*) AS qas FROM read_parquet('$DATA/qa_dedup/**/*.parquet', hive_partitioning=true) GROUP BY ALL ORDER BY qas DESC\"))"
See the run in the UI: make airflow (http://localhost:8080, DAG faqmine_crawl).
EOT
