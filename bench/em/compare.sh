#!/usr/bin/env bash
# Quality of AR and NAR models on one prepared data set, as issue 13's table reports it:
#   AR  LABEL=MODEL: valid and test, beam 4 (the decoding the AR rows of the table use);
#   NAR LABEL=MODEL: valid odd, test odd, odd + length beam 3, odd + length beam 3 + re-scoring by the --rescore AR.
# Writes one JSON line per evaluation to OUT (atomically) and prints a Markdown table. Quality only (no timing).
# --limit N decodes only the first N sentences of each split (a quick check of the script, not a result).
# Usage: bench/em/compare.sh --data DIR --out FILE [--rescore AR_MODEL] [--limit N] [--ar LABEL=MODEL]... [--nar LABEL=MODEL]...
set -euo pipefail
NATEM=${NATEM:-"dotnet run --project src/NatEm.Cli -c Release --"}
data='' out='' rescore='' limit=() ars=() nars=()
while (($#)); do
  case $1 in
    --data) data=$2 ;;
    --out) out=$2 ;;
    --rescore) rescore=$2 ;;
    --limit) limit=(--limit "$2") ;;
    --ar) ars+=("$2") ;;
    --nar) nars+=("$2") ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n $data && -n $out ]] || { echo "compare.sh: --data and --out are required" >&2; exit 2; }
((${#nars[@]} == 0)) || [[ -n $rescore ]] || { echo "compare.sh: --nar needs --rescore AR_MODEL" >&2; exit 2; }

: > "$out.tmp"
evaluate() {  # LABEL MODEL SPLIT DECODING-FLAGS...
  local label=$1 model=$2 split=$3; shift 3
  local flags="$*"
  [[ -z $rescore ]] || flags=${flags//"$rescore"/AR}
  echo "$label ($model) $split $*" >&2
  $NATEM eval --model "$model" --data "$data" --split "$split" "$@" "${limit[@]}" --json |
    python3 -c 'import json,sys; r=json.load(sys.stdin); r["run"]=sys.argv[1]; r["decoding"]=sys.argv[2]; print(json.dumps(r))' \
      "$label" "$flags" >> "$out.tmp"
}
for pair in "${ars[@]}"; do
  label=${pair%%=*} model=$(readlink -f "${pair#*=}")
  evaluate "$label" "$model" valid --beam 4
  evaluate "$label" "$model" test --beam 4
done
for pair in "${nars[@]}"; do
  label=${pair%%=*} model=$(readlink -f "${pair#*=}")
  evaluate "$label" "$model" valid --decoder Odd
  evaluate "$label" "$model" test --decoder Odd
  evaluate "$label" "$model" test --decoder Odd --length-beam 3
  evaluate "$label" "$model" test --decoder Odd --length-beam 3 --rescore "$rescore"
done
mv "$out.tmp" "$out"
python3 - "$out" <<'PY'
import json, sys
print("| run | model | split | decoding | BLEU | chrF | repetition before dedup | length accuracy |")
print("|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line)
    pct = lambda k: "–" if r.get(k) is None else f"{100 * r[k]:.1f} %"
    print(f"| {r['run']} | {r['model'].rstrip('/').rsplit('/', 1)[-1]} | {r['split']} | {r['decoding']} | {r['bleu']:.2f} | {r['chrf']:.2f} | {pct('repetition_rate')} | {pct('length_accuracy')} |")
PY
