#!/usr/bin/env bash
# Line and branch coverage of the test suite per namespace (coverlet, via the coverlet.collector data collector the
# test project references). Not a CI gate: a map of what the tests exercise.
#   bench/coverage.sh [OUT_DIR] [-- extra dotnet test arguments, e.g. --filter "FullyQualifiedName~Training"]
# Writes OUT_DIR/coverage.cobertura.xml (default runs/coverage) and prints a table. Runs the whole suite: about as long
# as `dotnet test` (4-6 minutes on 2 cores). On a shared machine, wrap it in the CPU lock.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/coverage}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
rm -rf "$out/raw"
mkdir -p "$out"
# The suite's own TRX log is not wanted here; coverlet writes one cobertura file per test run.
# Cobertura is coverlet's default format; no run-settings override, which would clash with the project's runsettings.
dotnet test tests/NatEm.Tests -c Release --collect:"XPlat Code Coverage" --results-directory "$out/raw" "$@" >"$out/test.log" 2>&1 \
  || { tail -20 "$out/test.log" >&2; echo "coverage: dotnet test failed (log: $out/test.log); figures below are of the tests that ran" >&2; }
report=$(find "$out/raw" -name coverage.cobertura.xml | head -1)
[ -n "$report" ] || { echo "coverage: no coverage.cobertura.xml under $out/raw" >&2; exit 1; }
cp "$report" "$out/coverage.cobertura.xml"
python3 - "$out/coverage.cobertura.xml" <<'PY'
import re, sys, xml.etree.ElementTree as ET
from collections import defaultdict

# Per namespace: every (file, line) once, covered if any class or method record of it was hit; branches likewise.
lines = defaultdict(dict)      # namespace -> {(file, line): hit}
branches = defaultdict(dict)   # namespace -> {(file, line): (covered, total)}
root = ET.parse(sys.argv[1]).getroot()
for cls in root.iter('class'):
    name = cls.get('name').split('/')[0]          # nested and compiler-generated classes count with their owner
    namespace = name.rsplit('.', 1)[0] if '.' in name else '(global)'
    filename = cls.get('filename')
    for line in cls.iter('line'):
        key = (filename, int(line.get('number')))
        lines[namespace][key] = lines[namespace].get(key, False) or int(line.get('hits')) > 0
        if line.get('branch') == 'True':
            m = re.search(r'\((\d+)/(\d+)\)', line.get('condition-coverage', ''))
            if m:
                covered, total = int(m.group(1)), int(m.group(2))
                old = branches[namespace].get(key, (0, 0))
                branches[namespace][key] = (max(old[0], covered), max(old[1], total))

def pct(a, b): return f"{100 * a / b:5.1f} %" if b else "    - "
print(f"{'namespace':<28} {'lines':>16} {'line cov':>9} {'branches':>16} {'branch cov':>10}")
all_lines = all_covered = all_branches = all_bcovered = 0
for ns in sorted(lines):
    covered, total = sum(lines[ns].values()), len(lines[ns])
    bcovered, btotal = sum(c for c, _ in branches[ns].values()), sum(t for _, t in branches[ns].values())
    all_lines += total; all_covered += covered; all_branches += btotal; all_bcovered += bcovered
    print(f"{ns:<28} {covered:>7} / {total:<6} {pct(covered, total):>9} {bcovered:>7} / {btotal:<6} {pct(bcovered, btotal):>10}")
print(f"{'total':<28} {all_covered:>7} / {all_lines:<6} {pct(all_covered, all_lines):>9} {all_bcovered:>7} / {all_branches:<6} {pct(all_bcovered, all_branches):>10}")
PY
