#!/usr/bin/env bash
# A Spark standalone cluster on this machine, from the pyspark distribution, and the files to ship to it.
#
#   scripts/spark_cluster.sh start     # master + FAQMINE_WORKERS workers; returns when all workers are ALIVE
#   scripts/spark_cluster.sh status    # the master's view (workers, cores, apps) as JSON
#   scripts/spark_cluster.sh stop      # stops every daemon this script started (by pid file), and their children
#   scripts/spark_cluster.sh package   # dist/faqmine.zip (--py-files) and dist/faqmine-schemas.zip (--archives)
#
# Settings (environment):
#   SPARK_HOME                 Spark distribution (default: the one inside the installed pyspark package)
#   FAQMINE_PYTHON             Python that has pyspark (default: .venv/bin/python, else python3)
#   FAQMINE_CLUSTER_DIR        pid files, logs and work folders (default: .state/spark-cluster)
#   SPARK_MASTER_HOST          127.0.0.1          SPARK_MASTER_PORT        7077
#   SPARK_MASTER_WEBUI_PORT    8090               FAQMINE_WORKER_WEBUI_PORT 8081 (worker i: +i-1; 0: any free port)
#   FAQMINE_WORKERS            2                  SPARK_WORKER_CORES       1         SPARK_WORKER_MEMORY 2g
#   FAQMINE_DIST               dist               (where `package` writes)
#   FAQMINE_CLUSTER_OWNER_PID  when set, a watchdog stops the cluster as soon as that process is gone
#                              (a test run killed before its clean-up leaves no daemons behind)
#
# Where the distribution has sbin/start-master.sh and sbin/start-worker.sh (a Spark tarball), they are used;
# the pip-installed pyspark ships only bin/spark-class, so the same daemons are started with
# `spark-class org.apache.spark.deploy.master.Master` / `...worker.Worker` in their own process groups,
# and `stop` ends each group by its pid file. Submit with: spark-submit --master spark://HOST:PORT ...
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${FAQMINE_PYTHON:-}" ]]; then
  if [[ -x "$REPO/.venv/bin/python" ]]; then FAQMINE_PYTHON="$REPO/.venv/bin/python"; else FAQMINE_PYTHON=python3; fi
fi
STATE="${FAQMINE_CLUSTER_DIR:-$REPO/.state/spark-cluster}"
HOST="${SPARK_MASTER_HOST:-127.0.0.1}"
PORT="${SPARK_MASTER_PORT:-7077}"
WEBUI="${SPARK_MASTER_WEBUI_PORT:-8090}"  # Airflow's API server has 8080
WORKER_WEBUI="${FAQMINE_WORKER_WEBUI_PORT:-8081}"
WORKERS="${FAQMINE_WORKERS:-2}"
CORES="${SPARK_WORKER_CORES:-1}"
MEMORY="${SPARK_WORKER_MEMORY:-2g}"
DIST="${FAQMINE_DIST:-$REPO/dist}"

spark_home() {
  if [[ -n "${SPARK_HOME:-}" ]]; then echo "$SPARK_HOME"; return; fi
  "$FAQMINE_PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

master_json() {
  "$FAQMINE_PYTHON" - "$HOST" "$WEBUI" <<'EOF'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/json/", timeout=2) as resp:
        state = json.load(resp)
except (OSError, ValueError):
    sys.exit(1)
alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
print(json.dumps({"url": state.get("url"), "status": state.get("status"), "alive_workers": len(alive),
                  "cores": state.get("cores"), "cores_used": state.get("coresused"),
                  "active_apps": [a.get("name") for a in state.get("activeapps", [])]}))
EOF
}

alive_workers() {
  master_json 2>/dev/null | "$FAQMINE_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["alive_workers"])' \
    2>/dev/null || echo 0
}

# start_daemon NAME CLASS ARGS...: one daemon in its own session (process group), pid in $STATE/NAME.pid
start_daemon() {
  local name="$1" class="$2"; shift 2
  local pidfile="$STATE/$name.pid"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$pidfile"))"; return
  fi
  SPARK_LOCAL_IP="$HOST" SPARK_LOG_DIR="$STATE/logs" SPARK_LOCAL_DIRS="$STATE/tmp/$name" \
    setsid "$(spark_home)/bin/spark-class" "$class" "$@" >"$STATE/logs/$name.out" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

start() {
  mkdir -p "$STATE/logs" "$STATE/tmp"
  local home; home="$(spark_home)"
  if [[ -x "$home/sbin/start-master.sh" && -x "$home/sbin/start-worker.sh" ]]; then
    export SPARK_PID_DIR="$STATE" SPARK_LOG_DIR="$STATE/logs" SPARK_LOCAL_IP="$HOST" SPARK_WORKER_DIR="$STATE/work"
    export SPARK_MASTER_HOST="$HOST" SPARK_MASTER_PORT="$PORT" SPARK_MASTER_WEBUI_PORT="$WEBUI"
    export SPARK_WORKER_CORES="$CORES" SPARK_WORKER_MEMORY="$MEMORY" SPARK_WORKER_INSTANCES="$WORKERS"
    export SPARK_WORKER_WEBUI_PORT="$WORKER_WEBUI"
    "$home/sbin/start-master.sh"
    "$home/sbin/start-worker.sh" "spark://$HOST:$PORT"
  else
    start_daemon master org.apache.spark.deploy.master.Master --host "$HOST" --port "$PORT" --webui-port "$WEBUI"
    for i in $(seq 1 "$WORKERS"); do
      local ui=0
      [[ "$WORKER_WEBUI" != 0 ]] && ui=$((WORKER_WEBUI + i - 1))
      mkdir -p "$STATE/work/worker-$i"
      start_daemon "worker-$i" org.apache.spark.deploy.worker.Worker --host "$HOST" --cores "$CORES" \
        --memory "$MEMORY" --work-dir "$STATE/work/worker-$i" --webui-port "$ui" "spark://$HOST:$PORT"
    done
  fi
  if [[ -n "${FAQMINE_CLUSTER_OWNER_PID:-}" ]]; then
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; exec "$2" stop' watchdog \
      "$FAQMINE_CLUSTER_OWNER_PID" "$REPO/scripts/spark_cluster.sh" >"$STATE/logs/watchdog.out" 2>&1 </dev/null &
    echo $! >"$STATE/watchdog.pid"
  fi
  for _ in $(seq 1 120); do
    if [[ "$(alive_workers)" -ge "$WORKERS" ]]; then
      echo "spark://$HOST:$PORT is up with $WORKERS workers x $CORES cores (UI http://$HOST:$WEBUI)"
      return 0
    fi
    sleep 0.5
  done
  echo "the cluster did not come up within 60 s; logs in $STATE/logs:" >&2
  tail -n 20 "$STATE"/logs/*.out >&2 || true
  stop
  return 1
}

stop() {
  local home; home="$(spark_home)"
  if [[ -x "$home/sbin/stop-master.sh" && -x "$home/sbin/stop-worker.sh" && ! -f "$STATE/master.pid" ]]; then
    SPARK_PID_DIR="$STATE" SPARK_WORKER_INSTANCES="$WORKERS" "$home/sbin/stop-worker.sh" || true
    SPARK_PID_DIR="$STATE" "$home/sbin/stop-master.sh" || true
    return 0
  fi
  local pidfile pid
  for pidfile in "$STATE"/worker-*.pid "$STATE"/master.pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL -- "-$pid" 2>/dev/null || true  # the group: executors and Python workers it started
    fi
    rm -f "$pidfile"
  done
  if [[ -f "$STATE/watchdog.pid" ]]; then
    pid="$(cat "$STATE/watchdog.pid")"
    rm -f "$STATE/watchdog.pid"
    [[ "$pid" != "$$" ]] && kill -TERM "$pid" 2>/dev/null || true
  fi
  echo "stopped the cluster of $STATE"
}

package() {
  mkdir -p "$DIST"
  "$FAQMINE_PYTHON" - "$REPO" "$DIST" <<'EOF'
import sys, zipfile
from pathlib import Path

repo, dist = Path(sys.argv[1]), Path(sys.argv[2])

def pack(target: Path, root: Path, files: list[Path]) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(files):
            info = zipfile.ZipInfo(str(f.relative_to(root)), date_time=(1980, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, f.read_bytes())
    print(target)

src = repo / "src"
pack(dist / "faqmine.zip", src, [p for p in (src / "faqmine").rglob("*")
                                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"])
pack(dist / "faqmine-schemas.zip", repo / "schemas", list((repo / "schemas").glob("*.json")))
EOF
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) master_json || { echo "no master answering on http://$HOST:$WEBUI" >&2; exit 1; } ;;
  package) package ;;
  -h|--help|help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
  *) echo "usage: $0 start|stop|status|package|--help" >&2; exit 2 ;;
esac
