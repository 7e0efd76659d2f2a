#!/usr/bin/env bash
# How the Bible en→es models are trained (issue 13, with issue 17's glancing comparison), one stage at a time.
# Every stage is a few natem commands on one run directory under $RUNS; each resumes where it stopped, so a stage
# that outlives a session is simply started again. Stages that train print the command that checks on them.
#
#   models/recipe-bible.en-es.sh STAGE        STAGE: teacher | q0 | kd | em | raw | long | long-final | ship-nar [MODEL]
#
# teacher       the AR teacher on the full training split (dropout 0.3), until --patience or --max-updates
# q0            the teacher to use: the average of its last 5 checkpoints or checkpoint_best, whichever is better
#               on VALID (greedy BLEU); its test BLEU (beam 4)
# kd            issue 17 and the KD baseline: vanilla and glancing uniform-copy NAR models on q0's beam-4
#               distillation, KD_UPDATES updates each, one thread each, side by side; distilled once (2 threads)
# em            one EM round from q0 with N=10 candidates and the PerToken criterion (Total picked the shortest
#               candidate for 91 % of sources: bench/log/2026-11-25-em-small.md): p1 = the kd winner on valid (given,
#               not retrained); q1 fine-tuned from q0 on the selection (AR_UPDATES at peak rate AR_LR); the final NAR
#               trained afresh on q1's distillation exactly as the kd winner was on q0's, so that EM and KD differ only
#               in their targets
# raw           the table's "raw" row: the kd winner's recipe on the real targets
# long          issue 26, the converged student: EM's student continued on q1's beam-4 distillation to LONG_UPDATES
#               updates (default 15,000, about 60 epochs) with a cosine schedule from LONG_LR to 1e-5 after 500 warm-up
#               updates and glancing 0.3→0.2 (where the warm start's own schedule ended), validating every 500 and keeping
#               the last 10 checkpoints for averaging. A warm start: the weights of $RUNS/long-init (a copy of the shipped
#               EM round-1 NAR, made once) with a fresh Adam state. q1 is the fp16 milestone models/milestones/bible.en-es.em-q1.
#               LONG_INIT=DIR warm-starts from another model instead (a new run: its schedules start at update 0).
#               LONG_CONTINUE=DIR continues the run from a milestone of its own (train-nar --continue-from) when the run
#               directory is lost: its update, schedules and batch order go on, only Adam starts fresh; LONG_UPDATES and
#               LONG_LR must then be the run's own (the milestone's model.json records them).
#               LONG_LOSS=ctc makes it a CTC student in $RUNS/long-ctc (R = 2, glancing 0.5→0.3 as issue 27's comparison):
#               from a length model's weights it is GLAT's warm start (blank = <unk>; the length classifier is left behind).
# ctc-compare   issue 27's comparison: a CTC + glancing student (R = 2) trained exactly as EM round 1's final NAR was
#               (q1's distillation, $NAR, glancing 0.5→0.3, KD_UPDATES updates), one thread beside the long run, in
#               $RUNS/ctc-glancing. CTC_CONTINUE=DIR continues it from its milestone when the run directory is lost.
# long-final    the converged student to ship: the average of the long run's last 5 checkpoints or its checkpoint_best,
#               whichever is better on VALID (odd; a CTC model decodes by collapse); written to $RUNS/long.path
#               ($RUNS/long-ctc.path with LONG_LOSS=ctc), with both figures
# ship-nar      export MODEL (default: the kd winner on valid) to models/bible.en-es/nar with fp16 weights, and print
#               its test BLEU (odd) from the fp32 and the fp16 weights: the export must move it by at most 0.1.
#               Shipped: `ship-nar $RUNS/em/model`, EM's NAR, the best on valid (BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-/work/runs}
DATA=$RUNS/data
NATEM=${NATEM:-"dotnet run --project src/NatEm.Cli -c Release --"}
KD_UPDATES=${KD_UPDATES:-2500}
GLANCING="--glancing 0.5:0.3@$KD_UPDATES"
AR_UPDATES=${AR_UPDATES:-1000}
LONG_UPDATES=${LONG_UPDATES:-15000}
LONG_LR=${LONG_LR:-5e-4}   # the warm start ended its inverse-sqrt schedule at 4.5e-4
LONG_LOSS=${LONG_LOSS:-length}   # ctc: the long run as a CTC student (issue 27), run directory $RUNS/long-ctc
LONG=$RUNS/long; [[ $LONG_LOSS == ctc ]] && LONG=$RUNS/long-ctc
Q1=${Q1:-models/milestones/bible.en-es.em-q1}
AR_LR=${AR_LR:-3e-4}   # q0's own rate at its best checkpoint (update 6,500 of inverse-sqrt 1e-3 after 500): 2.8e-4
# shared by every NAR run, so that they differ only in what a comparison varies
# No --precision: the machine's default, bf16 where the CPU has AVX512-BF16 (1.35x faster, equal validation loss and
# BLEU: bench/log/2026-12-01-avx512-bf16-machine.md), else fp32. A run resumed on another machine may switch.
NAR="--data $DATA --decoder-input UniformCopy --preset small --lr 1e-3 --warmup 500 --validate-every 500 --keep-last 4 --seed 1"
export OMP_WAIT_POLICY=PASSIVE   # several libtorch processes share the cores (bench/log/2026-11-30-converged-teacher.md, "libgomp spin-waiting")

natem() { $NATEM "$@"; }
background() { local log=$1; shift; nohup $NATEM "$@" > "$log" 2>&1 & echo "started: tail -f $log"; }
resume_flag() { [[ -e $1/checkpoint_last ]] && echo --resume || true; }
bleu() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bleu"])' "$1"; }
q0() { cat "$RUNS/q0.path"; }
# The kd model with the better valid BLEU (odd decoding), chosen once.
kd_winner() {
  if [[ ! -f $RUNS/kd-winner.path ]]; then
    for run in kd-vanilla kd-glancing; do
      natem eval --model "$(readlink -f "$RUNS/$run/checkpoint_best")" --data "$DATA" --split valid --decoder Odd --json > "$RUNS/$run.valid.json"
    done
    local winner=kd-vanilla
    python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' \
      "$(bleu "$RUNS/kd-glancing.valid.json")" "$(bleu "$RUNS/kd-vanilla.valid.json")" && winner=kd-glancing
    readlink -f "$RUNS/$winner/checkpoint_best" > "$RUNS/kd-winner.path"
  fi
  cat "$RUNS/kd-winner.path"
}

# The kd winner's training flags beyond $NAR: its glancing schedule, if it is the glancing run.
winner_flags() { [[ $(kd_winner) == *kd-glancing* ]] && echo "$GLANCING" || true; }
# q0's beam-4 distillation of the training sources, made once (2 threads) and copied into every run that trains on it.
distill_q0() {
  [[ -d $RUNS/distill-q0/distill ]] || natem train-nar $NAR --out "$RUNS/distill-q0" --distill-from "$(q0)" --max-updates 1 >&2
  echo "$RUNS/distill-q0/distill"
}
with_distillation() { if [[ ! -d $1/distill ]]; then mkdir -p "$1" && cp -r "$(distill_q0)" "$1/"; fi; }
# q1's beam-4 distillation, made once (2 threads) as q0's is.
distill_q1() {
  [[ -d $RUNS/distill-q1/distill ]] || natem train-nar $NAR --out "$RUNS/distill-q1" --distill-from "$Q1" --max-updates 1 >&2
  echo "$RUNS/distill-q1/distill"
}

[[ -d $DATA ]] || natem prepare --out "$DATA"

case ${1:-} in
teacher)
  background "$RUNS/teacher.log" train-ar --data "$DATA" --out "$RUNS/teacher" --preset small --dropout 0.3 --lr 1e-3 \
    --warmup 500 --max-updates "${TEACHER_UPDATES:-60000}" --validate-every 500 --patience "${TEACHER_PATIENCE:-10}" --keep-last 10 \
    --seed 1 --precision Fp32 $(resume_flag "$RUNS/teacher")
  ;;
q0)
  [[ -d $RUNS/teacher-avg5 ]] || natem average --run "$RUNS/teacher" --last 5 --out "$RUNS/teacher-avg5"
  best=$(readlink -f "$RUNS/teacher/checkpoint_best")
  natem eval --model "$best" --data "$DATA" --split valid --beam 1 --json > "$RUNS/q0-best.valid.json"
  natem eval --model "$RUNS/teacher-avg5" --data "$DATA" --split valid --beam 1 --json > "$RUNS/q0-avg5.valid.json"
  if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' \
      "$(bleu "$RUNS/q0-avg5.valid.json")" "$(bleu "$RUNS/q0-best.valid.json")"; then best=$RUNS/teacher-avg5; fi
  echo "$best" > "$RUNS/q0.path"
  echo "q0 = $best (valid BLEU: checkpoint_best $(bleu "$RUNS/q0-best.valid.json"), average $(bleu "$RUNS/q0-avg5.valid.json"))"
  natem eval --model "$best" --data "$DATA" --split test --beam 4 --json | tee "$RUNS/q0.test.json"
  ;;
kd)
  # Train both models side by side with one thread each on the distillation made once.
  with_distillation "$RUNS/kd-vanilla"; with_distillation "$RUNS/kd-glancing"
  background "$RUNS/kd-vanilla.log" train-nar $NAR --out "$RUNS/kd-vanilla" --distill-from "$(q0)" --max-updates "$KD_UPDATES" --threads 1 $(resume_flag "$RUNS/kd-vanilla")
  background "$RUNS/kd-glancing.log" train-nar $NAR --out "$RUNS/kd-glancing" --distill-from "$(q0)" --max-updates "$KD_UPDATES" --threads 1 \
    $GLANCING $(resume_flag "$RUNS/kd-glancing")
  ;;
em)
  # p1 is given, so round 1 only decodes (distillation copied, N-best) and fine-tunes q1.
  with_distillation "$RUNS/em/round1"
  background "$RUNS/em.log" em $NAR --out "$RUNS/em" --initial-ar "$(q0)" --initial-nar "$(kd_winner)" --iterations 1 --nbest 10 \
    --selection-score PerToken --distill-beam 4 --max-updates "$KD_UPDATES" $(winner_flags) --ar-max-updates "$AR_UPDATES" --ar-lr "$AR_LR" \
    $([[ -e $RUNS/em/em_state.json ]] && echo --resume)
  ;;
raw)
  # One thread while it runs beside EM's stages, as the two KD runs ran beside each other; RAW_THREADS=2 alone
  # (a resumed train-nar may change its thread count).
  background "$RUNS/nar-raw.log" train-nar $NAR --out "$RUNS/nar-raw" --max-updates "$KD_UPDATES" --threads "${RAW_THREADS:-1}" $(winner_flags) $(resume_flag "$RUNS/nar-raw")
  ;;
long)
  if [[ ! -d $LONG/distill ]]; then mkdir -p "$LONG" && cp -r "$(distill_q1)" "$LONG/"; fi
  if [[ -n ${LONG_CONTINUE:-} ]]; then start=(--continue-from "$LONG_CONTINUE")
  else [[ -d $LONG-init ]] || cp -r "${LONG_INIT:-models/bible.en-es/nar}" "$LONG-init"; start=(--init-from "$LONG-init"); fi
  if [[ $LONG_LOSS == ctc ]]; then loss_flags=(--nar-loss ctc --upsample 2 --glancing "0.5:0.3@$LONG_UPDATES"); else loss_flags=(--glancing "0.3:0.2@$LONG_UPDATES"); fi
  background "$LONG.log" train-nar --data "$DATA" --out "$LONG" "${start[@]}" --distill-from "$Q1" --distill-beam 4 \
    --lr "$LONG_LR" --warmup 500 --lr-schedule Cosine --min-lr 1e-5 --max-updates "$LONG_UPDATES" "${loss_flags[@]}" \
    --validate-every 500 --keep-last 10 --seed 1 --threads "${LONG_THREADS:-2}" $(resume_flag "$LONG")
  echo "curve: natem curve --run $LONG"
  ;;
ctc-compare)
  if [[ ! -d $RUNS/ctc-glancing/distill ]]; then mkdir -p "$RUNS/ctc-glancing" && cp -r "$(distill_q1)" "$RUNS/ctc-glancing/"; fi
  start=(); [[ -n ${CTC_CONTINUE:-} ]] && start=(--continue-from "$CTC_CONTINUE")
  background "$RUNS/ctc-glancing.log" train-nar $NAR --out "$RUNS/ctc-glancing" "${start[@]}" --distill-from "$Q1" --nar-loss ctc --upsample 2 \
    $GLANCING --max-updates "$KD_UPDATES" --threads 1 $(resume_flag "$RUNS/ctc-glancing")
  ;;
long-final)
  [[ -d $LONG-avg5 ]] || natem average --run "$LONG" --last 5 --out "$LONG-avg5"
  best=$(readlink -f "$LONG/checkpoint_best")
  natem eval --model "$best" --data "$DATA" --split valid --decoder Odd --json > "$LONG-best.valid.json"
  natem eval --model "$LONG-avg5" --data "$DATA" --split valid --decoder Odd --json > "$LONG-avg5.valid.json"
  if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' \
      "$(bleu "$LONG-avg5.valid.json")" "$(bleu "$LONG-best.valid.json")"; then best=$LONG-avg5; fi
  echo "$best" > "$LONG.path"
  echo "converged student = $best (valid BLEU odd: checkpoint_best $(bleu "$LONG-best.valid.json"), average of the last 5 $(bleu "$LONG-avg5.valid.json"))"
  ;;
ship-nar)
  model=${2:-$(kd_winner)}
  rm -rf models/bible.en-es/nar.new
  natem export --model "$model" --out models/bible.en-es/nar.new --dtype Fp16
  rm -rf models/bible.en-es/nar && mv models/bible.en-es/nar.new models/bible.en-es/nar
  for weights in "$model" models/bible.en-es/nar; do
    echo "$weights: test BLEU (odd) $(natem eval --model "$weights" --data "$DATA" --split test --decoder Odd --precision Fp32 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bleu"])')"
  done
  ;;
*)
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
  exit 2
  ;;
esac
