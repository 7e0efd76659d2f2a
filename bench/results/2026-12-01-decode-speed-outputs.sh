#!/usr/bin/env bash
# Exactness only (no timing; beside the teacher run): translations of main and the branch, to compare byte for byte.
AR=/work/runs/teacher/checkpoints/update_0005000
NAR=/work/runs/glat-vanilla/checkpoint_best
OUT=/work/runs/decode-speed-outputs; mkdir -p $OUT
declare -A BIN=([main]=/work/runs/bin-s3 [branch]=/work/runs/decode-speed-bin)
for who in main branch; do
  E="dotnet ${BIN[$who]}/NatEm.Cli.dll eval --data /work/runs/data --limit 64 --threads 2 --json"
  $E --model $AR --beam 4 --batch-size 64 --output $OUT/$who-beam4-b64.txt
  $E --model $AR --beam 4 --batch-size 1 --output $OUT/$who-beam4-b1.txt
  $E --model $AR --beam 1 --batch-size 64 --output $OUT/$who-greedy-b64.txt
  $E --model $AR --beam 10 --batch-size 64 --output $OUT/$who-beam10-b64.txt
  $E --model $NAR --decoder Odd --batch-size 1 --output $OUT/$who-nar-odd-b1.txt
  $E --model $NAR --decoder Odd --batch-size 64 --output $OUT/$who-nar-odd-b64.txt
  $E --model $NAR --decoder Odd --length-beam 3 --rescore $AR --batch-size 64 --output $OUT/$who-nar-odd-lb3-rescore-b64.txt
done
for f in $OUT/main-*.txt; do g=${f/main-/branch-}; cmp -s $f $g && echo "identical: $(basename ${f#*main-})" || echo "DIFFERENT: $(basename ${f#*main-})"; done
