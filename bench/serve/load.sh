#!/usr/bin/env bash
# Serving benchmark: `natem serve` with dynamic batching on and off, loaded by `natem loadtest` on the same machine.
# Usage: bench/serve/load.sh NATEM MODEL_DIR TEXTS [CLIENTS] [REQUESTS] [extra serve options...]
#   NATEM     the natem binary (e.g. bin/NatEm.Cli from `dotnet publish src/NatEm.Cli -c Release -o bin`)
#   TEXTS     source sentences, one per line (e.g. PREPARED/test.en)
# Prints one JSON line per setting: {"setting": ..., loadtest result...}.
set -euo pipefail
natem=$1 model=$2 texts=$3 clients=${4:-32} requests=${5:-300}
shift $(( $# < 5 ? $# : 5 ))
port=5089
run() {
  local setting=$1; shift
  "$natem" serve --model "$model" --urls "http://127.0.0.1:$port" "$@" > "/tmp/natem-serve-$setting.log" 2>&1 &
  local server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done
  # One short warm-up pass so that libtorch's lazy initialization is not timed.
  "$natem" loadtest --url "http://127.0.0.1:$port" --texts "$texts" --clients 4 --requests 16 > /dev/null
  printf '{"setting": "%s", "result": %s}\n' "$setting" "$("$natem" loadtest --url "http://127.0.0.1:$port" --texts "$texts" --clients "$clients" --requests "$requests" --json)"
  kill -TERM "$server"; wait "$server" || true
}
run batching-on "$@"
run batching-off --max-delay-ms 0 --max-batch-tokens 1 "$@"
