#!/usr/bin/env python3
"""Length, repetition and selection statistics of an EM run's targets (standard library only).

Usage: bench/em/target_stats.py DATA_DIR RUN_DIR [N] [TRAIN_LIMIT]

Reads the token-id files that `natem prepare` and `natem em` write (format: src/NatEm/Data/TokenIdFile.cs)
and prints, for the real targets, every distillation and selected-target set of the run: sentences, mean
length, the share of adjacent equal tokens and the unigram entropy; then, for each round's selection, which beam rank of the
N-best list was chosen and how often the chosen candidate was (one of) the shortest.
"""
import array
import glob
import math
import os
import struct
import sys
from collections import Counter


def read_ids(path):
    data = open(path, "rb").read()
    if data[:8] != b"NATEMIDS":
        sys.exit(f"{path}: not a token-id file")
    count = struct.unpack_from("<i", data, 12)[0]
    total = struct.unpack_from("<q", data, 16)[0]
    lengths = array.array("i")
    lengths.frombytes(data[24:24 + 4 * count])
    ids = array.array("i")
    ids.frombytes(data[24 + 4 * count:24 + 4 * count + 4 * total])
    sentences, offset = [], 0
    for length in lengths:
        sentences.append(tuple(ids[offset:offset + length]))
        offset += length
    return sentences


def read_parts(folder):
    return [s for part in sorted(glob.glob(os.path.join(folder, "part_*.bin"))) for s in read_ids(part)]


def describe(name, sentences):
    pairs = sum(max(len(s) - 1, 0) for s in sentences)
    repeats = sum(1 for s in sentences for a, b in zip(s, s[1:]) if a == b)
    mean = sum(len(s) for s in sentences) / len(sentences)
    # unigram entropy in bits, as the EM report's "target entropy" (CorpusStatistics.UnigramEntropyBits)
    counts = Counter(token for s in sentences for token in s)
    total = sum(counts.values())
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    print(f"{name}: {len(sentences)} sentences, mean length {mean:.1f} tokens, adjacent repeats {100 * repeats / max(pairs, 1):.2f} %, "
          f"unigram entropy {entropy:.3f} bits")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data_dir, run_dir = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
    describe("real targets", read_ids(os.path.join(data_dir, "train.tgt.bin"))[:limit])
    for folder in sorted(glob.glob(os.path.join(run_dir, "*", "distill"))):
        describe(os.path.relpath(folder, run_dir), read_parts(folder))
    for round_dir in sorted(glob.glob(os.path.join(run_dir, "round*"))):
        selected_path = os.path.join(round_dir, "selected.bin")
        if not os.path.exists(selected_path):
            continue
        selected = read_ids(selected_path)
        describe(os.path.relpath(selected_path, run_dir), selected)
        candidates = read_parts(os.path.join(round_dir, "nbest"))
        ranks, shortest, first_shortest = Counter(), 0, 0
        for i, choice in enumerate(selected):
            group = candidates[i * n:(i + 1) * n]
            ranks[group.index(choice) if choice in group else -1] += 1
            least = min(len(c) for c in group)
            shortest += len(choice) == least
            first_shortest += len(group[0]) == least
        share = ", ".join(f"rank {r}: {100 * c / len(selected):.1f} %" for r, c in sorted(ranks.items()))
        print(f"{os.path.basename(round_dir)} selection: chosen {share}; chosen is (one of) the shortest of its {n}: "
              f"{100 * shortest / len(selected):.1f} % (the beam's first: {100 * first_shortest / len(selected):.1f} %)")
        for r in range(n):
            print(f"  rank {r} candidates: mean length {sum(len(candidates[i * n + r]) for i in range(len(selected))) / len(selected):.1f}")


if __name__ == "__main__":
    main()
