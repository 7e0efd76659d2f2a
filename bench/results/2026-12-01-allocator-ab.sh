#!/usr/bin/env bash
# Allocator A/B for training throughput: glibc default, glibc with fixed thresholds, jemalloc, tcmalloc.
B=${B:-/work/runs/bin-sdpa}   # main at 210136c plus the Attention.cs change of a996e15 (bf16 attention on the fused kernel), without NativeAllocator
run() { echo "== $1"; shift; env "$@" dotnet $B/NatEm.Cli.dll bench-training --data /work/runs/data --preset small --max-tokens 4096 --warmup 2 --updates 6 --precision Fp32,Bf16 --threads 2 2>&1 | grep "│ NatEm\|│ libtorch"; }
run glibc X=1
run glibc-tunables GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
run jemalloc LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
run tcmalloc LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
