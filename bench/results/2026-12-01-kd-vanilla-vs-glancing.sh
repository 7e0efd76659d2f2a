#!/usr/bin/env bash
# Issue 17's comparison on q0's distillation (models/recipe-bible.en-es.sh kd): each KD model's best checkpoint
# (chosen on valid by the run itself), or with CHECKPOINT=update_0002000 the checkpoints at equal updates, scored on
# valid (odd) and on the whole test split with odd, odd + length beam 3, and odd + length beam 3 + re-scoring by q0.
# Usage: bench/results/2026-12-01-kd-vanilla-vs-glancing.sh [RUNS] [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-/work/runs}
model() { echo "$RUNS/$1/${CHECKPOINT:+checkpoints/}${CHECKPOINT:-checkpoint_best}"; }
bench/em/compare.sh --data "$RUNS/data" --out "${2:-$RUNS/kd-compare.jsonl}" --rescore "$(cat "$RUNS/q0.path")" \
  --nar kd-vanilla="$(model kd-vanilla)" --nar kd-glancing="$(model kd-glancing)"
