#!/usr/bin/env bash
# `make experiment`: does training on mined hard negatives change zero-shot cross-lingual retrieval?
#
#   simulate -> extract -> clean_langid -> dedup -> embed -> build_benchmarks -> align_bitext -> mine_negatives
#            -> [TEACHER=1: train_reranker (cross-encoder), mine_negatives_teacher (its scores and filter)]
#            -> train inbatch, randneg, hardneg, marginmse (the encoder's cosine margins: self-distillation)
#               [, marginmse_ce (the cross-encoder's margins)] x SEEDS seeds
#            -> evaluate (with bm25, base, hybrid; test split + real out-of-domain pages + parallel text)
#            -> learning curve (dev split, checkpoints of inbatch and hardneg at 25/50/100% of the steps) -> report
#
# Usage: scripts/experiment.sh [--device cpu|cuda] [--data DIR] [--report DIR] [--run-id ID] [--fresh]
#                              [--from train] [--help]
#   --device cuda   uses configs/experiment/gpu/ (a larger crawl, encoders and training on the GPU)
#   --data DIR      data root (default data/demo/experiment, or data/demo/experiment-gpu with --device cuda)
#   --report DIR    report folder (default training/results/<run id>)
#   --run-id ID     evaluation run id (default cpu-<SIM_SIZE> or cuda-<SIM_SIZE>)
#   --fresh         rerun every stage even where its output exists (the embed stage encodes every QA again)
#   --from train    skip the pipeline: train, evaluate and report on a data root that already holds
#                   benchmarks/, bitext/ and hard_negatives/ (TEACHER=1 also needs qa_embeddings/)
# Sizes (crawl, languages, seeds, steps, batch, sequence length) are in configs/experiment[/gpu]/{pipeline.env,*.yaml}
# (listed below); environment variables override pipeline.env (e.g. SIM_SIZE=5MB SEEDS=2), TRAIN_ARGS is added to
# every train.py call (e.g. TRAIN_ARGS="--max-steps 2" for a quick end-to-end check), STRATEGIES and
# CURVE_STRATEGIES choose what is trained and where a learning curve is drawn, CURVE_SEEDS on which seeds (default
# every seed; the CPU configuration draws it on seed 1 to stay inside its time budget); TEACHER=0 trains no
# cross-encoder and no marginmse_ce, RERANKER_ARGS and TEACHER_MINE_ARGS size it.
# A stage whose job file is missing stops the run with its name; finished stages are reused on the next run.
set -euo pipefail
SCRIPT=$(readlink -f "$0")
cd "$(dirname "$SCRIPT")/.."

sizes() {  # the sizes of both configurations, read from their files (environment overrides shown where set)
  local dir
  for dir in configs/experiment configs/experiment/gpu; do
    (
      # shellcheck source=/dev/null
      source "$dir/pipeline.env"
      printf '\n%s (%s):\n  crawl %s (FAQ share %s, seed %s), Spark %s, seeds per strategy %s (%s)\n' \
        "$([ "$dir" = configs/experiment ] && echo CPU || echo GPU, --device cuda)" "$dir" "$SIM_SIZE" "$FAQ_SHARE" \
        "$SIM_SEED" "$MASTER" "$SEEDS" "$(seq -s ' ' 1 "$SEEDS")"
      printf '  learning curve (dev): seeds %s\n' "${CURVE_SEEDS:-$(seq -s ' ' 1 "$SEEDS")}"
      printf '  evaluate: %s\n' "$EVAL_ARGS"
      printf '  teacher (TEACHER=%s): train-reranker %s; mine_negatives --teacher DATA/reranker %s\n' "${TEACHER:-0}" \
        "${RERANKER_ARGS:-}" "${TEACHER_MINE_ARGS:-}"
      for f in "$dir"/inbatch.yaml "$dir"/randneg.yaml "$dir"/hardneg.yaml "$dir"/marginmse.yaml; do
        printf '  %-9s %s\n' "$(basename "$f" .yaml)" "$(grep -E '^(k_negatives|batch_size|cached|mini_batch_size|max_seq_length|max_question_length|max_answer_length|freeze_embeddings|freeze_layers|max_steps|epochs|precision):' "$f" | sed 's/ *#.*//' | tr '\n' ' ')"
      done
    )
  done
}

DEVICE=cpu DATA="" REPORT="" RUN_ID="" FRESH=0 FROM=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    --run-id) RUN_ID=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    --from) FROM=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$SCRIPT" | sed 's/^# \{0,1\}//'; echo; echo "Sizes:"; sizes; exit 0 ;;
    *) echo "experiment.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in
  cpu) CONFIGS=configs/experiment; DATA=${DATA:-data/demo/experiment} ;;
  cuda*) CONFIGS=configs/experiment/gpu; DATA=${DATA:-data/demo/experiment-gpu} ;;
  *) echo "experiment.sh: --device must be cpu or cuda" >&2; exit 2 ;;
esac
case "$FROM" in
  ""|train) ;;
  *) echo "experiment.sh: --from takes only 'train'" >&2; exit 2 ;;
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
run_job() {  # run_job JOB OUTPUT ARGS...: spark-submit jobs/JOB.py unless OUTPUT is finished (timed as $STAGE_AS or JOB)
  local job=$1 out=$2 name=${STAGE_AS:-$1}; shift 2
  need_job "$job"
  if done_already "$out"; then step "$name: reusing $out"; return; fi
  step "$name -> $out"
  timed "$name" "${SUBMIT[@]}" "jobs/$job.py" "$@"
}

if [ -z "$FROM" ]; then
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
REUSE=(); [ "$FRESH" = 1 ] && REUSE=(--no-reuse)  # --fresh: the embed stage encodes again, not reusing its vectors
# shellcheck disable=SC2086
run_job embed "$DATA/qa_embeddings" --input "$DATA/qa_dedup" --output "$DATA/qa_embeddings" $EMBED_ARGS "${REUSE[@]}"
# shellcheck disable=SC2086
run_job build_benchmarks "$DATA/benchmarks" --input "$DATA/qa_dedup" --embeddings "$DATA/qa_embeddings" \
  --duplicates "$DATA/duplicates" --output "$DATA/benchmarks" $BENCHMARK_ARGS
# shellcheck disable=SC2086
run_job align_bitext "$DATA/bitext" --input "$DATA/qa_dedup" --embeddings "$DATA/qa_embeddings" \
  --output "$DATA/bitext" $BITEXT_ARGS
# shellcheck disable=SC2086
run_job mine_negatives "$DATA/hard_negatives" --benchmarks "$DATA/benchmarks" --output "$DATA/hard_negatives" \
  --embeddings "$DATA/qa_embeddings" --bitext "$DATA/bitext" $MINE_ARGS

fi  # --from train skips the pipeline

# The teacher (TEACHER=1): a cross-encoder trained on the train split of the training languages and measured as a
# reranker of the bi-encoder on dev and the real pages (its card, use_as_teacher: whether it beats the bi-encoder on
# dev). It mines the training languages' negatives again, scoring (query, positive) and (query, candidate) and
# filtering false negatives with its own scores; marginmse_ce learns its margins, beside marginmse on the encoder's
# cosine margins (self-distillation), and the report names the teacher with its reranking numbers.
HARD_NEGATIVES_TEACHER="" RERANKER_FLAG=()
case "${TEACHER:-0}" in
  0) ;;
  1)
    if [ "$FRESH" = 0 ] && [ -f "$DATA/reranker/faqmine_reranker.json" ]; then
      step "train_reranker: reusing $DATA/reranker"
    else
      step "train_reranker -> $DATA/reranker"
      # shellcheck disable=SC2086
      timed train_reranker $PY -m faqmine.cli models train-reranker --data "$DATA" --out "$DATA/reranker" \
        --device "$DEVICE_FLAG" --resume "$([ "$FRESH" = 1 ] && echo none || echo auto)" $RERANKER_ARGS
    fi
    RERANKER_FLAG=(--reranker "$DATA/reranker")
    # shellcheck disable=SC2086
    STAGE_AS=mine_negatives_teacher run_job mine_negatives "$DATA/hard_negatives_teacher" \
      --benchmarks "$DATA/benchmarks" --output "$DATA/hard_negatives_teacher" --embeddings "$DATA/qa_embeddings" \
      --bitext "$DATA/bitext" --teacher "$DATA/reranker" --device "$DEVICE_FLAG" \
      --candidates-output "$DATA/hard_negative_candidates_teacher" $TEACHER_MINE_ARGS
    HARD_NEGATIVES_TEACHER="$DATA/hard_negatives_teacher" ;;
  *) echo "experiment.sh: TEACHER must be 0 or 1" >&2; exit 2 ;;
esac

DEFAULT_STRATEGIES="inbatch randneg hardneg marginmse"
if [ -n "$HARD_NEGATIVES_TEACHER" ]; then DEFAULT_STRATEGIES+=" marginmse_ce"; fi
STRATEGIES=${STRATEGIES:-$DEFAULT_STRATEGIES}
case " $STRATEGIES " in
  *" marginmse_ce "*)
    [ -n "$HARD_NEGATIVES_TEACHER" ] || { echo "experiment.sh: marginmse_ce needs TEACHER=1" >&2; exit 2; } ;;
esac
CURVE_STRATEGIES=${CURVE_STRATEGIES:-inbatch hardneg}
CURVE_SEEDS=${CURVE_SEEDS:-$(seq -s ' ' 1 "$SEEDS")}
read -r -a SEED_LIST <<< "$(seq -s ' ' 1 "$SEEDS")"
MODELS=() CURVE=(base)
for strategy in $STRATEGIES; do
  for seed in "${SEED_LIST[@]}"; do
    out="$DATA/runs/$strategy-s$seed" config="$CONFIGS/$strategy.yaml"
    EXTRA=(); [ "$FRESH" = 1 ] && EXTRA=(--force --resume never)
    if [ "$strategy" = marginmse_ce ]; then  # marginmse's recipe on the cross-encoder's negatives and margins
      config="$CONFIGS/marginmse.yaml"
      EXTRA+=(--set "hard_negatives=$HARD_NEGATIVES_TEACHER")
    fi
    step "train $strategy, seed $seed ($config)"
    on_curve=0
    case " $CURVE_STRATEGIES " in *" $strategy "*) case " $CURVE_SEEDS " in *" $seed "*) on_curve=1 ;; esac ;; esac
    [ "$on_curve" = 1 ] && EXTRA+=(--set "curve_fractions=[0.25, 0.5]")
    # shellcheck disable=SC2086
    timed "train_${strategy}_s$seed" $PY training/train.py --config "$config" --data "$DATA" \
      --output-dir "$out" --device "$DEVICE_FLAG" --seed "$seed" --set "run_name=$strategy-s$seed" "${EXTRA[@]}" \
      ${TRAIN_ARGS:-}
    MODELS+=(--model "$strategy@$seed=$out")
    if [ "$on_curve" = 1 ]; then
      final_step=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["global_step"])' "$out/faqmine_train.json")
      for point in "$out"/curve-step-*; do
        [ -d "$point" ] && CURVE+=("$strategy@$seed:${point##*-}=$point")
      done
      CURVE+=("$strategy@$seed:$final_step=$out")
    fi
  done
done

step "evaluate: bm25, base, hybrid, $STRATEGIES x ${#SEED_LIST[@]} seeds (run $RUN_ID)"
# shellcheck disable=SC2086
timed evaluate $PY training/evaluate.py --data "$DATA" --run-id "$RUN_ID" "${MODELS[@]}" --device "$DEVICE_FLAG" \
  "${RERANKER_FLAG[@]}" --compare-to base inbatch randneg hardneg marginmse $EVAL_ARGS
if [ "${#CURVE[@]}" -gt 1 ]; then
  step "learning curve on the dev split: $CURVE_STRATEGIES at 0/25/50/100% of the steps"
  CURVE_MODELS=() CURVE_SYSTEMS=(base)
  for spec in "${CURVE[@]:1}"; do CURVE_MODELS+=(--model "$spec"); CURVE_SYSTEMS+=("${spec%%=*}"); done
  # shellcheck disable=SC2086
  timed evaluate_curve $PY training/evaluate.py --data "$DATA" --run-id "$RUN_ID-curve" --split dev \
    --realfaq none --compare-to base --systems "${CURVE_SYSTEMS[@]}" "${CURVE_MODELS[@]}" \
    --device "$DEVICE_FLAG" $EVAL_ARGS ${CURVE_ARGS:-}
fi
step "report -> $REPORT"
mkdir -p "$REPORT"
cp "$TIMINGS" "$REPORT/timings.tsv"
timed report $PY training/report.py --eval "$DATA/eval" --run-id "$RUN_ID" --out "$REPORT"
cp "$TIMINGS" "$REPORT/timings.tsv"
printf '\nDone in %ss: %s/summary.md (stage timings in %s/timings.tsv)\n' "$(( $(date +%s) - started ))" \
  "$REPORT" "$REPORT"
