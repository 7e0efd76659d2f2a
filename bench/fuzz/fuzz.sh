#!/usr/bin/env bash
# Fuzzing of the readers of untrusted files (model.json, weights.bin, tokenizer files, manifest.json, token-id and text
# files, corpora) for longer than the test suite does: the FsCheck properties of tests/NatEm.Tests/Reliability/FuzzTests.cs
# (MutatedFileFuzzTests), each run for NATEM_FUZZ_CASES random mutations per file (the suite runs 20).
# Usage: NATEM_FUZZ_CASES=2000 bench/fuzz/fuzz.sh
# Every case must load cleanly or fail with one line of exit code 3, 4 or 5, without hanging or writing; a failing case
# is printed with its mutations and FsCheck's replay seed. Prints the number of cases run.
set -euo pipefail
cases=${NATEM_FUZZ_CASES:-1000}
cd "$(dirname "$0")/../.."
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
dotnet build NatEm.sln -c Release -v q -nologo
files=$(grep -c '^    \[InlineData(' <(sed -n '/class MutatedFileFuzzTests/,$p' tests/NatEm.Tests/Reliability/FuzzTests.cs))
files=$((files + 1)) # the corpus [Fact]
NATEM_FUZZ_CASES=$cases dotnet test NatEm.sln -c Release --no-build --filter "FullyQualifiedName~MutatedFileFuzzTests"
echo "fuzz: $cases mutations per file x $files files = $((cases * files)) cases, all loaded cleanly or failed in one line"
