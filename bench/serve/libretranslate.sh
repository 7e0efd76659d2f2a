#!/usr/bin/env bash
# Issue 29's targets: LibreTranslate's POST /translate against NatEm's POST /v1/translate on one `natem serve`.
# Usage: bench/serve/libretranslate.sh NATEM MODEL_DIR TEXTS [extra serve options...]
#   one client, one sentence per request, on /translate (the p50 target), then 32 clients on each route (throughput).
# Prints one JSON line per setting. Run it on an otherwise idle machine.
set -euo pipefail
natem=$1 model=$2 texts=$3
shift 3
port=5091 url=http://127.0.0.1:5091
"$natem" serve --model "$model" --urls "$url" "$@" > /tmp/natem-serve-libretranslate.log 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "$url/readyz" > /dev/null && break; sleep 0.2; done
# Warm-up on both routes so that libtorch's lazy initialization is not timed.
for route in V1 LibreTranslate; do "$natem" loadtest --url "$url" --texts "$texts" --clients 4 --requests 32 --route "$route" > /dev/null; done
load() { printf '{"setting": "%s", "result": %s}\n' "$1" "$("$natem" loadtest --url "$url" --texts "$texts" --json "${@:2}")"; }
load "LibreTranslate, 1 client" --clients 1 --requests 200 --route LibreTranslate
load "V1, 32 clients" --clients 32 --requests 600 --route V1
load "LibreTranslate, 32 clients" --clients 32 --requests 600 --route LibreTranslate
