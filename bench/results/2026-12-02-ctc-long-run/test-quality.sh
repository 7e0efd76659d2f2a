#!/usr/bin/env bash
# Quiet window, step 2: whole-test quality (fp32) of the chosen CTC model: single pass, prefix beams with q0 re-scoring.
set -u
N=/work/runs/bin/588231c/NatEm.Cli; M=$1; O=/work/runs/ship; AR=/work/main/models/bible.en-es/ar
export OMP_WAIT_POLICY=PASSIVE
run() { local tag=$1; shift; $N eval --model $M --data /work/runs/data --split test --precision Fp32 --json "$@" > $O/test.$tag.json 2>> $O/err.log
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], round(d["bleu"],2), round(d["chrf"],2))' $O/test.$tag.json $tag; }
run lb1
run lb5.rescore --length-beam 5 --rescore $AR
run lb9.rescore --length-beam 9 --rescore $AR
