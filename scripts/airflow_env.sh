#!/usr/bin/env bash
# Source this file (`source scripts/airflow_env.sh`): the environment every Airflow command of this repository
# runs with. Nothing here is specific to one machine; every value can be overridden from the environment.
#   AIRFLOW_HOME          default <repo>/.state/airflow (ignored by git): airflow.cfg, SQLite DB, logs, login
#   dags folder           <repo>/dags; example DAGs off; new DAGs start unpaused
#   spark_default         AIRFLOW_CONN_SPARK_DEFAULT if set, else a Spark connection to $SPARK_MASTER (default local[*])
#   FAQMINE_DATA_ROOT     default data root offered in the trigger form (faqmine.run.pipeline: <repo>/data/demo)
#   PATH                  <repo>/.venv/bin first (spark-submit, airflow, faqmine); PySpark uses the venv's Python
_faqmine_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_faqmine_repo/.state/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$_faqmine_repo/dags}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
# 2-core laptops and CI under load: the default 5 s timeout of task -> API server calls fails tasks spuriously
export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="${AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT:-60}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://localhost:$AIRFLOW__API__PORT}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-$AIRFLOW__API__BASE_URL/execution/}"
if [ -z "${AIRFLOW_CONN_SPARK_DEFAULT:-}" ]; then
  export AIRFLOW_CONN_SPARK_DEFAULT="{\"conn_type\": \"spark\", \"host\": \"${SPARK_MASTER:-local[*]}\"}"
fi
export PATH="$_faqmine_repo/.venv/bin:$PATH"
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$_faqmine_repo/.venv/bin/python}"
export PYSPARK_DRIVER_PYTHON="${PYSPARK_DRIVER_PYTHON:-$PYSPARK_PYTHON}"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
mkdir -p "$AIRFLOW_HOME"
unset _faqmine_repo
