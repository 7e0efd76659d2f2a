#!/usr/bin/env bash
# End of session 3: stop the teacher at a resumable checkpoint; compare its best checkpoint with the average of its
# last 5 numbered checkpoints on VALID (greedy); measure only the one chosen there on the test split (beam 4).
set -u
cd /work/runs
N="dotnet /work/runs/bin-s3/NatEm.Cli.dll"
pid=$(cat teacher.pid); kill -TERM $pid; while kill -0 $pid 2>/dev/null; do sleep 2; done
date; tail -2 teacher.log
ls teacher/checkpoints
rm -rf /work/runs/teacher-avg5
$N average --run /work/runs/teacher --last 5 --out /work/runs/teacher-avg5
for m in teacher/checkpoint_best teacher-avg5; do
  $N eval --model $m --data data --split valid --beam 1 --json > end-s3.valid.$(basename $m).json
  echo "$m valid greedy: $(cat end-s3.valid.$(basename $m).json)"
done
chosen=$(python3 -c "
import json
b=json.load(open('end-s3.valid.checkpoint_best.json'))['bleu']; a=json.load(open('end-s3.valid.teacher-avg5.json'))['bleu']
print('teacher-avg5' if a>b else 'teacher/checkpoint_best')")
echo "chosen on valid: $chosen"
$N eval --model $chosen --data data --split test --beam 4 --json > end-s3.test.json
echo "$chosen test beam 4: $(cat end-s3.test.json)"
date
