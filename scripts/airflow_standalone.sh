#!/usr/bin/env bash
# `make airflow`: Airflow standalone (API server + UI, scheduler, DAG processor, triggerer; SQLite) on
# http://localhost:8080 with this repository's dags/ and AIRFLOW_HOME=.state/airflow, then print the login.
# Stop with Ctrl-C. Environment: see scripts/airflow_env.sh (AIRFLOW__API__PORT, SPARK_MASTER, FAQMINE_DATA_ROOT...).
# Usage: scripts/airflow_standalone.sh [--help]
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/.."
# shellcheck source=scripts/airflow_env.sh
source scripts/airflow_env.sh
echo "AIRFLOW_HOME=$AIRFLOW_HOME  dags: $AIRFLOW__CORE__DAGS_FOLDER  spark_default: $AIRFLOW_CONN_SPARK_DEFAULT"
airflow standalone &
standalone=$!
trap 'kill -INT "$standalone" 2>/dev/null; wait "$standalone" 2>/dev/null' INT TERM EXIT
passwords="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
for _ in $(seq 1 300); do
  if [ -s "$passwords" ] && curl -fs -o /dev/null "$AIRFLOW__API__BASE_URL/api/v2/monitor/health"; then
    login=$(python -c 'import json, sys; print(*next(iter(json.load(open(sys.argv[1])).items())), sep=" / ")' "$passwords")
    printf '\n==== Airflow UI: %s   login: %s   (DAG: faqmine_crawl)\n\n' "$AIRFLOW__API__BASE_URL" "$login"
    break
  fi
  kill -0 "$standalone" 2>/dev/null || break
  sleep 2
done
wait "$standalone"
