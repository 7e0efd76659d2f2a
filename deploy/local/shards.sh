#!/bin/sh
# The n shards of one decoding pass of a natem run on this machine, in n processes (xargs -P):
#   deploy/local/shards.sh 2 em --data DATA --out RUN --threads 1 --stage round1/nbest
# The same with GNU parallel:  parallel -j 2 natem em --data DATA --out RUN --threads 1 --stage round1/nbest --shard {}/2 ::: 0 1
# It fails (exit 123) if any shard failed; run it again to finish the shards that did not.
set -eu
n=$1
shift
seq 0 $((n - 1)) | xargs -P "$n" -I{} natem "$@" --shard "{}/$n"
