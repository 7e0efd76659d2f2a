#!/usr/bin/env bash
# AR decoding at two commits, one after the other, on the same models and sentences: a before/after check that a
# change to BeamSearch (issue 30 item 4b: Generate split into steps) costs no speed. Run it in a quiet window.
#   RUNS=/path/to/runs bench/beam-search-ab.sh BEFORE AFTER OUT
# Builds each commit in a scratch worktree under OUT, then times AR greedy and beam 4 (and NAR odd, which bench
# needs) with the shipped models on 64 test sentences at batch 1 and 64 in fp32; the tables land in OUT/{before,after}.
set -euo pipefail
before=$1 after=$2 out=$3
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
args=(--ar "$repo/models/bible.en-es/ar" --nar "$repo/models/bible.en-es/nar" --data "$RUNS/data" --limit 64
      --batch-sizes 1,64 --repeat 2 --warmup 4 --threads 2 --precision Fp32)
mkdir -p "$out"
for side in before after; do
  commit=${!side}
  git -C "$repo" worktree add --detach "$out/src-$side" "$commit"
  dotnet publish "$out/src-$side/src/NatEm.Cli" -c Release -o "$out/bin-$side" -v quiet
  git -C "$repo" worktree remove --force "$out/src-$side"
done
for side in before after; do
  echo "== $side (${!side})"
  dotnet "$out/bin-$side/NatEm.Cli.dll" bench "${args[@]}" --out "$out/$side"
done
