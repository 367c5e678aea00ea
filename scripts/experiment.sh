#!/usr/bin/env bash
# `make experiment`: does training on mined hard negatives change zero-shot cross-lingual retrieval?
#
#   simulate -> extract -> clean_langid -> dedup -> embed -> build_benchmarks -> align_bitext -> mine_negatives
#            -> train inbatch, hardneg, marginmse -> evaluate (with bm25, base, hybrid) -> report
#
# Usage: scripts/experiment.sh [--device cpu|cuda] [--data DIR] [--report DIR] [--run-id ID] [--fresh]
#   --device cuda   uses configs/experiment/gpu/ (a larger crawl, encoders and training on the GPU)
#   --data DIR      data root (default data/demo/experiment, or data/demo/experiment-gpu with --device cuda)
#   --report DIR    report folder (default training/results/<run id>)
#   --run-id ID     evaluation run id (default cpu-<SIM_SIZE> or cuda-<SIM_SIZE>)
#   --fresh         rerun every stage even where its output exists
# Sizes (crawl, languages, steps, batch, sequence length) are in configs/experiment[/gpu]/{pipeline.env,*.yaml};
# environment variables override pipeline.env (e.g. SIM_SIZE=5MB), TRAIN_ARGS is added to every train.py call
# (e.g. TRAIN_ARGS="--max-steps 2" for a quick end-to-end check).
# A stage whose job file is missing stops the run with its name; finished stages are reused on the next run.
set -euo pipefail
SCRIPT=$(readlink -f "$0")
cd "$(dirname "$SCRIPT")/.."

DEVICE=cpu DATA="" REPORT="" RUN_ID="" FRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    --run-id) RUN_ID=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,16p' "$SCRIPT" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "experiment.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in
  cpu) CONFIGS=configs/experiment; DATA=${DATA:-data/demo/experiment} ;;
  cuda*) CONFIGS=configs/experiment/gpu; DATA=${DATA:-data/demo/experiment-gpu} ;;
  *) echo "experiment.sh: --device must be cpu or cuda" >&2; exit 2 ;;
esac
# shellcheck source=/dev/null
source "$CONFIGS/pipeline.env"
DEVICE_FLAG=$DEVICE
RUN_ID=${RUN_ID:-${DEVICE%%:*}-${SIM_SIZE}}
REPORT=${REPORT:-training/results/$RUN_ID}
PY=.venv/bin/python
export PYSPARK_PYTHON="$PWD/$PY" PYSPARK_DRIVER_PYTHON="$PWD/$PY" SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
export FAQMINE_QUIET_SPARK=1
SUBMIT=(.venv/bin/spark-submit --master "${SPARK_MASTER:-$MASTER}" --driver-memory "${DRIVER_MEMORY:-4g}")
mkdir -p "$DATA"
TIMINGS="$DATA/experiment_timings.tsv"
: > "$TIMINGS"
started=$(date +%s)

step() { printf '\n== %s (%ss since start)\n' "$1" "$(( $(date +%s) - started ))"; }
timed() {  # timed NAME CMD...: run, append "NAME seconds" to the timings file, print the stage's line
  local name=$1 t0 seconds; shift; t0=$(date +%s)
  "$@"
  seconds=$(( $(date +%s) - t0 ))
  printf '%s\t%s\n' "$name" "$seconds" >> "$TIMINGS"
  stage_line "$name" "$seconds"
}
stage_line() {  # stage_line NAME SECONDS: "  done: NAME  12 s  qa_raw: in 558 -> out 112, 834 rows" (Spark stages)
  $PY - "$1" "$2" "$DATA" <<'EOF'
import sys
from pathlib import Path

from faqmine.commands.progress import balance, stage_outputs

name, seconds, data = sys.argv[1], sys.argv[2], Path(sys.argv[3])
extra = balance(data, name, stage_outputs())
print(f"  done: {name:<18} {seconds:>5} s" + (f"   {extra}" if extra else ""))
EOF
}
need_job() {
  if [ ! -f "jobs/$1.py" ]; then
    echo "experiment.sh: stage '$1' is missing (no jobs/$1.py): the pipeline cannot go past it." >&2
    echo "  finished so far: $(cut -f1 "$TIMINGS" | tr '\n' ' ')" >&2
    exit 3
  fi
}
done_already() { [ "$FRESH" = 0 ] && [ -f "$1/_stats.json" ]; }
run_job() {  # run_job JOB OUTPUT ARGS...: spark-submit jobs/JOB.py unless OUTPUT is finished
  local job=$1 out=$2; shift 2
  need_job "$job"
  if done_already "$out"; then step "$job: reusing $out"; return; fi
  step "$job -> $out"
  timed "$job" "${SUBMIT[@]}" "jobs/$job.py" "$@"
}

if [ "$FRESH" = 1 ] || [ "$(cat "$DATA/crawl/.params" 2>/dev/null)" != "$SIM_SIZE $SIM_SEED $FAQ_SHARE $SIM_ARGS" ]; then
  step "simulate: a $SIM_SIZE multilingual crawl (seed $SIM_SEED, FAQ share $FAQ_SHARE)"
  rm -rf "$DATA/crawl"
  # shellcheck disable=SC2086
  timed simulate $PY -m faqmine.cli simulate --out "$DATA/crawl" --size "$SIM_SIZE" --seed "$SIM_SEED" \
    --faq-share "$FAQ_SHARE" --quiet $SIM_ARGS
  echo "$SIM_SIZE $SIM_SEED $FAQ_SHARE $SIM_ARGS" > "$DATA/crawl/.params"
fi
run_job extract "$DATA/qa_raw" --input "$DATA/crawl/warc.paths.gz" --output "$DATA/qa_raw"
run_job clean_langid "$DATA/qa" --input "$DATA/qa_raw" --output "$DATA/qa"
run_job dedup "$DATA/qa_dedup" --input "$DATA/qa" --output "$DATA/qa_dedup" --duplicates-output "$DATA/duplicates"
# shellcheck disable=SC2086
run_job embed "$DATA/qa_embeddings" --input "$DATA/qa_dedup" --output "$DATA/qa_embeddings" $EMBED_ARGS
# shellcheck disable=SC2086
run_job build_benchmarks "$DATA/benchmarks" --input "$DATA/qa_dedup" --embeddings "$DATA/qa_embeddings" \
  --duplicates "$DATA/duplicates" --output "$DATA/benchmarks" $BENCHMARK_ARGS
# shellcheck disable=SC2086
run_job align_bitext "$DATA/bitext" --input "$DATA/qa_dedup" --embeddings "$DATA/qa_embeddings" \
  --output "$DATA/bitext" $BITEXT_ARGS
# shellcheck disable=SC2086
run_job mine_negatives "$DATA/hard_negatives" --benchmarks "$DATA/benchmarks" --output "$DATA/hard_negatives" \
  --embeddings "$DATA/qa_embeddings" --bitext "$DATA/bitext" $MINE_ARGS

MODELS=()
for strategy in inbatch hardneg marginmse; do
  step "train $strategy ($CONFIGS/$strategy.yaml)"
  FORCE=(); [ "$FRESH" = 1 ] && FORCE=(--force --resume never)
  # shellcheck disable=SC2086
  timed "train_$strategy" $PY training/train.py --config "$CONFIGS/$strategy.yaml" --data "$DATA" \
    --output-dir "$DATA/runs/$strategy" --device "$DEVICE_FLAG" "${FORCE[@]}" ${TRAIN_ARGS:-}
  MODELS+=(--model "$strategy=$DATA/runs/$strategy")
done

step "evaluate: bm25, base, hybrid, inbatch, hardneg, marginmse (run $RUN_ID)"
# shellcheck disable=SC2086
timed evaluate $PY training/evaluate.py --data "$DATA" --run-id "$RUN_ID" "${MODELS[@]}" --device "$DEVICE_FLAG" \
  $EVAL_ARGS
step "report -> $REPORT"
timed report $PY training/report.py --eval "$DATA/eval" --run-id "$RUN_ID" --out "$REPORT"
cp "$TIMINGS" "$REPORT/timings.tsv"
printf '\nDone in %ss: %s/summary.md (stage timings in %s/timings.tsv)\n' "$(( $(date +%s) - started ))" \
  "$REPORT" "$REPORT"
