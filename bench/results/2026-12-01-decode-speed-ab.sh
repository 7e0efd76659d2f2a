#!/usr/bin/env bash
# Decoding at batch 1 (issue 14; 2026-12-01): main's published binary (/work/runs/bin-s3, main at ac6a5c5, the branch
# point) against branch decode-speed (/work/runs/decode-speed-bin), alternating, three rounds, in one quiet window:
#   /work/runs/quiet.sh bash bench/results/2026-12-01-decode-speed-ab.sh
# The translations are compared byte for byte outside the window (no timing): bench/results/2026-12-01-decode-speed-outputs.sh.
AR=/work/runs/teacher/checkpoints/update_0005000
NAR=/work/runs/glat-vanilla/checkpoint_best
ARGS="--ar $AR --nar $NAR --data /work/runs/data --limit 64 --batch-sizes 1,64 --repeat 1 --warmup 4 --threads 2"
OUT=/work/runs/decode-speed-ab
declare -A BIN=([main]=/work/runs/bin-s3 [branch]=/work/runs/decode-speed-bin)
for round in 1 2 3; do
  for who in main branch; do
    echo "== round $round: $who bench ($(date -u +%H:%M:%S))"
    mkdir -p $OUT/$who-$round; dotnet ${BIN[$who]}/NatEm.Cli.dll bench $ARGS --out $OUT/$who-$round | tee $OUT/$who-$round/table.md
  done
done
echo "== done ($(date -u +%H:%M:%S))"
