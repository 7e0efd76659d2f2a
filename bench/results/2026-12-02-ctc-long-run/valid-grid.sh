#!/usr/bin/env bash
# Valid-split decoding grid of one CTC model: length beam 1/3/5/9, with and without q0 re-scoring (bf16, 1 thread).
set -u
M=$1; TAG=$2; N=/work/runs/bin/670e4ab/NatEm.Cli
for lb in 1 3 5 9; do
  OMP_WAIT_POLICY=PASSIVE $N eval --model $M --data /work/runs/data --split valid --length-beam $lb --threads 1 --json > $TAG.lb$lb.json 2>>$TAG.err
  [[ $lb == 1 ]] || OMP_WAIT_POLICY=PASSIVE $N eval --model $M --data /work/runs/data --split valid --length-beam $lb --rescore /work/main/models/bible.en-es/ar --threads 1 --json > $TAG.lb$lb.rescore.json 2>>$TAG.err
done
