"""What EM's selection would choose with each scorer and criterion (bench/em/selection.sh writes the inputs).

For every scorer LABEL, DIR/LABEL.Total.tsv and DIR/LABEL.PerToken.tsv hold `index<TAB>score` per candidate, N per
source in AR-rank order. A candidate's subword tokens are Total / PerToken − 1 (PerToken = Total / (tokens + 1)).
The choice rule is EM's: the best score, ties to the higher AR rank, so a −∞ candidate is never chosen over a
finite one and a source with no finite score keeps the beam's first.
"""
import argparse
import math


def read(path):
    return [float(line.split("\t")[1]) for line in open(path, encoding="utf-8")]


def choose(scores, n):
    choice = []
    for s in range(len(scores) // n):
        row = scores[s * n:(s + 1) * n]
        best = 0
        for rank in range(1, n):
            if row[rank] > row[best]:
                best = rank
        choice.append(best)
    return choice


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--nbest", type=int, required=True)
    parser.add_argument("scorers", nargs="+")
    args = parser.parse_args()
    n = args.nbest
    choices, lengths = {}, {}
    for label in args.scorers:
        total = read(f"{args.dir}/{label}.Total.tsv")
        per_token = read(f"{args.dir}/{label}.PerToken.tsv")
        # A candidate's tokens, from any scorer that scored it finitely (a CTC scorer gives −∞ to some).
        for i, (t, p) in enumerate(zip(total, per_token)):
            if math.isfinite(t) and p != 0:
                lengths.setdefault(i, round(t / p) - 1)
        unscorable = sum(all(math.isinf(x) for x in total[s * n:(s + 1) * n]) for s in range(len(total) // n))
        unalignable = sum(math.isinf(x) for x in total)
        for criterion, scores in (("Total", total), ("PerToken", per_token)):
            choices[f"{label} {criterion}"] = (choose(scores, n), unscorable, unalignable)
    sources = len(next(iter(choices.values()))[0])
    print(f"{sources} sources, {n} candidates each\n")
    print("| scorer, criterion | rank 1 | ranks 2–3 | ranks 4–10 | tokens vs beam's first | shorter | longer | sources with no alignable candidate | candidates with none |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (choice, unscorable, unalignable) in choices.items():
        share = lambda lo, hi: sum(lo <= c < hi for c in choice) / sources
        chosen = [lengths.get(s * n + c) for s, c in enumerate(choice)]
        first = [lengths.get(s * n) for s in range(sources)]
        pairs = [(c, f) for c, f in zip(chosen, first) if c is not None and f is not None]
        ratio = sum(c for c, _ in pairs) / max(1, sum(f for _, f in pairs))
        shorter = sum(c < f for c, f in pairs) / sources
        longer = sum(c > f for c, f in pairs) / sources
        print(f"| {name} | {share(0, 1):.1%} | {share(1, 3):.1%} | {share(3, n):.1%} | {ratio:.3f} | {shorter:.1%} | {longer:.1%} | {unscorable} | {unalignable} |")
    names = list(choices)
    print("\nSame candidate chosen:")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            same = sum(x == y for x, y in zip(choices[a][0], choices[b][0])) / sources
            print(f"- {a} / {b}: {same:.1%}")


if __name__ == "__main__":
    main()
