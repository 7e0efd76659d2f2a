#!/usr/bin/env bash
# EM's selection step made by several NAR scorers on the same AR N-best lists (issue 27: a CTC scorer against the
# length classifier's). The AR model writes N candidates for the first SOURCES lines of the training sources; each
# scorer gives every candidate its log-likelihood (score-nar, Total and PerToken); selection_shares.py prints what each
# criterion of each scorer would select: AR-rank shares, the chosen candidates' length against the beam's first,
# candidates no alignment fits (CTC), and how often two scorers agree. Quality only (no timing).
# Usage: bench/em/selection.sh --data DIR --ar MODEL --out DIR [--nbest N] [--sources S] --nar LABEL=MODEL...
set -euo pipefail
NATEM=${NATEM:-"dotnet run --project src/NatEm.Cli -c Release --"}
data='' ar='' out='' nbest=10 sources=1000 nars=()
while (($#)); do
  case $1 in
    --data) data=$2 ;;
    --ar) ar=$2 ;;
    --out) out=$2 ;;
    --nbest) nbest=$2 ;;
    --sources) sources=$2 ;;
    --nar) nars+=("$2") ;;
    *) echo "selection.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n $data && -n $ar && -n $out && ${#nars[@]} -gt 0 ]] || { echo "selection.sh: --data, --ar, --out and at least one --nar are required" >&2; exit 2; }
mkdir -p "$out"
head -n "$sources" "$data/train.en" > "$out/src.txt"
[[ -s $out/nbest.txt ]] || $NATEM translate --model "$ar" --beam "$nbest" --nbest "$nbest" --input "$out/src.txt" --output "$out/nbest.txt"
python3 -c 'import sys; [print(l.rstrip("\n").split(" ||| ")[1]) for l in open(sys.argv[1], encoding="utf-8")]' "$out/nbest.txt" > "$out/candidates.txt"
scorers=()
for spec in "${nars[@]}"; do
  label=${spec%%=*} model=${spec#*=}
  for criterion in Total PerToken; do
    [[ -s $out/$label.$criterion.tsv ]] || $NATEM score-nar --model "$model" --src "$out/src.txt" --candidates "$out/candidates.txt" \
      --nbest "$nbest" --selection-score "$criterion" > "$out/$label.$criterion.tsv"
  done
  scorers+=("$label")
done
python3 "$(dirname "$0")/selection_shares.py" --dir "$out" --nbest "$nbest" "${scorers[@]}"
