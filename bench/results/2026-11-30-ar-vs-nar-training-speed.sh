#!/usr/bin/env bash
# AR vs NAR (uniform copy) training throughput of the small preset, same data and batch size, one after the other.
set -u
BIN=/work/runs/bin-now/NatEm.Cli.dll
for kind in ar nar; do
  rm -rf /tmp/speed-$kind
  extra=""; [ $kind = nar ] && extra="--decoder-input UniformCopy"
  dotnet $BIN train-$kind --data /work/runs/data --out /tmp/speed-$kind --preset small $extra --max-updates 16 --log-every 4 --validate-every 0 --warmup 500 --seed 1 --threads 2 > $kind.log 2>&1
  grep -o '"update":[0-9]*\|"tokens_per_second":[0-9.]*' /tmp/speed-$kind/train_log.jsonl | paste - - | tr '\n' ' '; echo " <- $kind"
done
