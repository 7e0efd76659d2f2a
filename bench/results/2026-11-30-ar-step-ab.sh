#!/usr/bin/env bash
# AR per-step overhead (issue 14, third session): main's decoding (/work/runs/bin-now, main at e7d0b65; main's later
# commits do not touch decoding) against branch ar-step (/work/runs/ar-step-bin), alternating, in one quiet window:
#   /work/runs/quiet.sh bash bench/results/2026-11-30-ar-step-ab.sh
AR=/work/runs/teacher/checkpoints/update_0002500
NAR=/work/runs/glat-vanilla/checkpoint_best
ARGS="--ar $AR --nar $NAR --data /work/runs/data --limit 64 --batch-sizes 1,64 --repeat 1 --warmup 4 --threads 2"
OUT=/work/runs/ar-step-ab
declare -A BIN=([main]=/work/runs/bin-now [branch]=/work/runs/ar-step-bin)
for round in 1 2; do
  for who in main branch; do
    echo "== round $round: $who bench"; dotnet ${BIN[$who]}/NatEm.Cli.dll bench $ARGS --out $OUT/$who-$round
  done
done
# Beam 10 at batch 64 (bench times beam 4 only): eval's seconds, translations kept to compare the outputs
for round in 1; do
  for who in main branch; do
    echo "== round $round: $who eval --beam 10"
    dotnet ${BIN[$who]}/NatEm.Cli.dll eval --model $AR --data /work/runs/data --limit 64 --beam 10 --batch-size 64 --threads 2 --json \
      --output $OUT/$who-beam10-$round.txt
  done
done
