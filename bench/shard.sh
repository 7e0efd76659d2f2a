#!/usr/bin/env bash
# What sharding a decoding pass buys (issue 31): the N-best pass of an EM round on the tiny preset,
#   (a) in 1 process with 1 thread, against 2 shards (--shard 0/2, 1/2) with 1 thread each, run at the same time;
#   (b) the cost each shard pays that one process pays once: start-up with nothing to compute (process, runtime,
#       data, plan), start-up + model load + one sentence, and the merge (reading a finished pass's parts).
# It checks that the 2 shards wrote the very parts of the 1 process, then prints the figures.
# Run it on an otherwise idle machine with at least 2 cores (the figures are wall times):
#   bench/shard.sh [WORK_DIR]        (default: a new temp dir; kept, so that a second run skips the set-up)
# Environment: SOURCES (training sources decoded, default 8192), NBEST (default 4), CHUNK (--chunk-size, default 1024), NATEM (default: dotnet run),
#   DATA / AR / NAR (a prepared data dir and tiny AR and NAR runs to use instead of preparing and training them).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
sources=${SOURCES:-8192}
nbest=${NBEST:-4}
export OMP_WAIT_POLICY=PASSIVE
if [[ -z ${NATEM:-} ]]; then
  dotnet build src/NatEm.Cli -c Release -v quiet -nologo >&2
  NATEM="dotnet src/NatEm.Cli/bin/Release/net10.0/NatEm.Cli.dll"
fi
mkdir -p "$work"
echo "bench/shard.sh: working in $work" >&2

# Set-up, not timed: the bundled corpus, a tiny AR teacher and a tiny NAR model (briefly trained: the pass's cost
# depends on the model's size and its outputs' lengths, not on their quality).
data=${DATA:-$work/data}
[[ -f $data/manifest.json ]] || $NATEM prepare --out "$data" >&2
ar=${AR:-$work/ar}
[[ -e $ar/checkpoint_last ]] || $NATEM train-ar --data "$data" --out "$ar" --preset tiny --max-updates 200 --validate-every 200 --threads 2 >&2
nar=${NAR:-$work/nar}
[[ -e $nar/checkpoint_last ]] || $NATEM train-nar --data "$data" --out "$nar" --preset tiny --max-updates 100 --validate-every 100 --threads 2 >&2

em() {  # RUN SOURCES STAGE SHARD: one shard of one pass, 1 thread
  $NATEM em --data "$data" --out "$1" --initial-ar "$ar" --initial-nar "$nar" --preset tiny --iterations 1 --nbest "$nbest" \
    --train-limit "$2" --chunk-size "${CHUNK:-1024}" --threads 1 --stage "$3" --shard "$4" > /dev/null
}
now() { date +%s.%N; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

# (a) The N-best pass, whole and in 2 shards at once.
rm -rf "$work/one" "$work/two"
t0=$(now); em "$work/one" "$sources" round1/nbest 0/1; t1=$(now)
em "$work/two" "$sources" round1/nbest 0/2 & first=$!
em "$work/two" "$sources" round1/nbest 1/2 & second=$!
wait "$first"; wait "$second"; t2=$(now)
one=$(seconds "$t0" "$t1") two=$(seconds "$t1" "$t2")
for part in "$work"/one/round1/nbest/part_*.bin; do
  cmp -s "$part" "$work/two/round1/nbest/$(basename "$part")" || { echo "bench/shard.sh: $(basename "$part") differs between 1 process and 2 shards" >&2; exit 1; }
done

# (b) Per-shard costs. A shard whose parts are all finished loads no model: start-up alone.
t0=$(now); em "$work/two" "$sources" round1/nbest 0/2; t1=$(now)
idle=$(seconds "$t0" "$t1")
# A pass of one sentence: start-up, the teacher's load and one beam search.
rm -rf "$work/single"
t0=$(now); em "$work/single" 1 round1/nbest 0/1; t1=$(now)
single=$(seconds "$t0" "$t1")
# The scores pass reads (merges) every N-best part; once its own parts are finished, that is all a rerun does.
em "$work/two" "$sources" round1/scores 0/1
t0=$(now); em "$work/two" "$sources" round1/scores 0/1; t1=$(now)
merge_and_startup=$(seconds "$t0" "$t1")

parts=$(ls "$work"/one/round1/nbest/part_*.bin | wc -l)
cat <<REPORT
N-best pass of an EM round, tiny preset: $sources training sources, $nbest-best, $parts parts of ${CHUNK:-1024} ($(nproc) cores, $(date -u +%Y-%m-%d))
| run | wall time (s) |
|---|---|
| 1 process x 1 thread | $one |
| 2 shards x 1 thread, at once | $two |
| speed-up | $(python3 -c "print(f'{$one / $two:.2f}x')") |

Per-shard costs
| what | wall time (s) |
|---|---|
| a shard with nothing to compute (process, runtime, data, plan) | $idle |
| a shard of one sentence (the above + loading the teacher + one beam search) | $single |
| a finished scores shard rerun (the above without the model + merging the $parts N-best parts) | $merge_and_startup |
REPORT
