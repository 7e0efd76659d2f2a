#!/usr/bin/env bash
# Issue 17's comparison on q0's distillation (models/recipe-bible.en-es.sh kd): each KD model's best checkpoint
# (chosen on valid by the run itself), or with CHECKPOINT=update_0002000 the checkpoints at equal updates, scored on valid (odd) and on the whole test split with odd, odd + length
# beam 3, and odd + length beam 3 + re-scoring by q0. Quality only; JSON lines go to $OUT.
# Usage: bench/results/2026-12-01-kd-vanilla-vs-glancing.sh [RUNS] [OUT]
set -euo pipefail
RUNS=${1:-/work/runs}
OUT=${2:-$RUNS/kd-compare.jsonl}
NATEM=${NATEM:-"dotnet run --project src/NatEm.Cli -c Release --"}
Q0=$(cat "$RUNS/q0.path")
: > "$OUT.tmp"
for run in kd-vanilla kd-glancing; do
  model=$(readlink -f "$RUNS/$run/${CHECKPOINT:+checkpoints/}${CHECKPOINT:-checkpoint_best}")
  for decoding in "valid --decoder Odd" "test --decoder Odd" "test --decoder Odd --length-beam 3" "test --decoder Odd --length-beam 3 --rescore $Q0"; do
    set -- $decoding
    split=$1; shift
    echo "$run ($model) $split $*" >&2
    $NATEM eval --model "$model" --data "$RUNS/data" --split "$split" "$@" --json |
      python3 -c 'import json,sys; r=json.load(sys.stdin); r["run"]=sys.argv[1]; r["decoding"]=sys.argv[2]; print(json.dumps(r))' "$run" "${*/$Q0/q0}" >> "$OUT.tmp"
  done
done
mv "$OUT.tmp" "$OUT"
python3 - "$OUT" <<'PY'
import json, sys
print("| run | model | split | decoding | BLEU | chrF | repetition before dedup | length accuracy |")
print("|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    pct = lambda k: "–" if r.get(k) is None else f"{100 * r[k]:.1f} %"
    print(f"| {r['run']} | {r['model'].rsplit('/', 1)[-1]} | {r['split']} | {r['decoding']} | {r['bleu']:.2f} | {r['chrf']:.2f} | {pct('repetition_rate')} | {pct('length_accuracy')} |")
PY
