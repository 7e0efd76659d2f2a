#!/usr/bin/env bash
# AR decoding before (main at 13:12 UTC today, before the bf16 branch (fused QKV, cache reuse) and the oneMKL patch) and now, same models and sentences
AR=/work/runs/teacher/checkpoints/update_0002000
NAR=/work/runs/glat-vanilla/checkpoint_best
ARGS="--ar $AR --nar $NAR --data /work/runs/data --limit 64 --batch-sizes 1,64 --repeat 1 --warmup 4 --threads 2"
echo "== before (/work/runs/bin)"; dotnet /work/runs/bin/NatEm.Cli.dll bench $ARGS --out /work/runs/arbench/before
echo "== now (/work/runs/bin-now)"; dotnet /work/runs/bin-now/NatEm.Cli.dll bench $ARGS --out /work/runs/arbench/now
