#!/usr/bin/env bash
# Issue 14, equal quality: the `small` AR preset trained in fp32 and in bf16 with the same seed, data and options,
# 500 updates each, one after the other with both cores (run under /work/runs/quiet.sh, which pauses other training).
# Compares validation loss and BLEU at updates 250 and 500, and prints each run's training speed.
set -euo pipefail
NATEM=${NATEM:-"dotnet run --project src/NatEm.Cli -c Release --"}
RUNS=${RUNS:-/work/runs}
for precision in Fp32 Bf16; do
  out=$RUNS/bf16-quality-$precision
  rm -rf "$out"
  $NATEM train-ar --data "$RUNS/data" --out "$out" --preset small --lr 1e-3 --warmup 500 --max-updates 500 \
    --validate-every 250 --log-every 50 --seed 1 --precision $precision --threads 2 > "$out.log" 2>&1
done
for precision in Fp32 Bf16; do
  echo "== $precision"
  grep -E "valid loss|tok/s" "$RUNS/bf16-quality-$precision.log" | grep -E "valid|upd (250|500) "
done
