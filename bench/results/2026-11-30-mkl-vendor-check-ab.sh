#!/usr/bin/env bash
# A/B of oneMKL's vendor check, alternated: keep, patched, keep, patched
B="dotnet src/NatEm.Cli/bin/Release/net10.0/NatEm.Cli.dll bench-training --data /work/runs/data --preset small --max-tokens 4096 --warmup 1 --updates 8 --precision Fp32"
for i in 1 2; do
echo "== keep $i"; NATEM_MKL_VENDOR_CHECK=keep $B
echo "== patched $i"; $B
done
