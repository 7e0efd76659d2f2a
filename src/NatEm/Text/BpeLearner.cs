using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using NatEm.IO;

namespace NatEm.Text;

/// <summary>A learned BPE model: the vocabulary in id order (special tokens, then the characters in ordinal
/// order, then each merge's new token) and the merges in the order they were learned.</summary>
public sealed record BpeModel(IReadOnlyList<string> Vocabulary, IReadOnlyList<(string Left, string Right)> Merges)
{
    /// <summary>Writes vocab.json and merges.txt (atomically) for <see cref="BpeSubwordTokenizer.Load"/>.</summary>
    public void Save(string directory)
    {
        AtomicFile.Write(Path.Combine(directory, BpeSubwordTokenizer.VocabFileName), stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            json.WriteStartObject();
            for (var id = 0; id < Vocabulary.Count; id++) json.WriteNumber(Vocabulary[id], id);
            json.WriteEndObject();
        });
        AtomicFile.WriteAllLines(Path.Combine(directory, BpeSubwordTokenizer.MergesFileName),
            Merges.Select(m => $"{m.Left} {m.Right}").Prepend("#version: 0.2"));
    }
}

/// <summary>
/// Learns a joint BPE model (Sennrich et al. 2016) over <see cref="SubwordText"/>'s pre-tokenized pieces.
/// Pieces are counted once; then each merge takes the most frequent adjacent symbol pair from a priority queue
/// (ties: ordinal order of the left, then the right symbol) and updates only the pieces that contain it, using
/// an index from pairs to pieces, with lazily corrected queue entries. Learning stops early when no pair occurs
/// at least twice.
/// </summary>
public static class BpeLearner
{
    public static BpeModel Learn(IEnumerable<string> normalizedSentences, int merges, IProgress<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(merges);
        var pieceCounts = CountPieces(normalizedSentences);
        return new MergeState(pieceCounts).Run(merges, progress);
    }

    /// <summary>Frequency of each pre-tokenized piece, counted in parallel.</summary>
    private static Dictionary<string, long> CountPieces(IEnumerable<string> sentences)
    {
        var total = new Dictionary<string, long>(StringComparer.Ordinal);
        var gate = new object();
        Parallel.ForEach(sentences,
            () => new Dictionary<string, long>(StringComparer.Ordinal),
            (string sentence, ParallelLoopState loop, Dictionary<string, long> counts) =>
            {
                var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
                var marked = SubwordText.MarkWordBoundaries(sentence);
                foreach (var match in SubwordText.PreTokenizer().EnumerateMatches(marked))
                    CollectionsMarshal.GetValueRefOrAddDefault(lookup, marked.AsSpan(match.Index, match.Length), out _)++;
                return counts;
            },
            counts =>
            {
                lock (gate)
                    foreach (var (piece, count) in counts) CollectionsMarshal.GetValueRefOrAddDefault(total, piece, out _) += count;
            });
        return total;
    }

    private sealed class MergeState
    {
        private readonly List<string> _symbols = [];
        private readonly Dictionary<string, int> _symbolIds = new(StringComparer.Ordinal);
        private readonly int[][] _pieces;
        private readonly int[] _lengths;
        private readonly long[] _frequencies;
        private readonly Dictionary<long, long> _pairCounts = [];
        private readonly Dictionary<long, List<int>> _pairPieces = [];
        private readonly PriorityQueue<(long Pair, long Count), (long Pair, long Count)> _queue;
        private readonly int[] _visitedAtMerge;

        public MergeState(Dictionary<string, long> pieceCounts)
        {
            _queue = new(Comparer<(long Pair, long Count)>.Create(ComparePriority));
            var pieces = pieceCounts.Keys.Order(StringComparer.Ordinal).ToArray();
            foreach (var symbol in pieces.SelectMany(SplitRunes).Distinct().Order(StringComparer.Ordinal)) AddSymbol(symbol);

            _pieces = new int[pieces.Length][];
            _lengths = new int[pieces.Length];
            _frequencies = new long[pieces.Length];
            _visitedAtMerge = new int[pieces.Length];
            Array.Fill(_visitedAtMerge, -1);
            for (var p = 0; p < pieces.Length; p++)
            {
                _pieces[p] = [.. SplitRunes(pieces[p]).Select(s => _symbolIds[s])];
                _lengths[p] = _pieces[p].Length;
                _frequencies[p] = pieceCounts[pieces[p]];
                for (var i = 0; i + 1 < _lengths[p]; i++)
                {
                    var pair = Pair(_pieces[p][i], _pieces[p][i + 1]);
                    CollectionsMarshal.GetValueRefOrAddDefault(_pairCounts, pair, out _) += _frequencies[p];
                    IndexPair(pair, p);
                }
            }
            foreach (var (pair, count) in _pairCounts) _queue.Enqueue((pair, count), (pair, count));
        }

        private static IEnumerable<string> SplitRunes(string text) => text.EnumerateRunes().Select(r => r.ToString());

        private int AddSymbol(string symbol)
        {
            if (_symbolIds.TryGetValue(symbol, out var id)) return id;
            _symbolIds[symbol] = _symbols.Count;
            _symbols.Add(symbol);
            return _symbols.Count - 1;
        }

        private static long Pair(int left, int right) => (long)left << 32 | (uint)right;
        private static int Left(long pair) => (int)(pair >> 32);
        private static int Right(long pair) => (int)pair;

        /// <summary>Queue order: higher count first, then the symbols' ordinal order, for deterministic ties.</summary>
        private int ComparePriority((long Pair, long Count) a, (long Pair, long Count) b)
        {
            if (a.Count != b.Count) return b.Count.CompareTo(a.Count);
            var byLeft = string.CompareOrdinal(_symbols[Left(a.Pair)], _symbols[Left(b.Pair)]);
            return byLeft != 0 ? byLeft : string.CompareOrdinal(_symbols[Right(a.Pair)], _symbols[Right(b.Pair)]);
        }

        private void IndexPair(long pair, int piece)
        {
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_pairPieces, pair, out _);
            (list ??= []).Add(piece);
        }

        public BpeModel Run(int targetMerges, IProgress<int>? progress)
        {
            var merges = new List<(string, string)>(targetMerges);
            while (merges.Count < targetMerges && _queue.TryDequeue(out var top, out _))
            {
                var current = _pairCounts.GetValueOrDefault(top.Pair);
                if (current != top.Count)
                {
                    // A stale entry: its count dropped since it was queued.
                    if (current > 0) _queue.Enqueue((top.Pair, current), (top.Pair, current));
                    continue;
                }
                if (current < 2) break;
                var (left, right) = (Left(top.Pair), Right(top.Pair));
                merges.Add((_symbols[left], _symbols[right]));
                Merge(top.Pair, AddSymbol(_symbols[left] + _symbols[right]), merges.Count);
                if (merges.Count % 100 == 0) progress?.Report(merges.Count);
            }
            progress?.Report(merges.Count);

            // The symbols are the characters followed by each merge's new token (a token made twice is listed once).
            return new BpeModel([.. SpecialTokens.All, .. _symbols], merges);
        }

        /// <summary>Replaces every occurrence of the pair by the merged symbol in the pieces that contain it and
        /// updates the pair counts: the piece's old pairs are subtracted, its new pairs added.</summary>
        private void Merge(long pair, int merged, int mergeNumber)
        {
            var (left, right) = (Left(pair), Right(pair));
            var increased = new HashSet<long>();
            foreach (var p in _pairPieces[pair])
            {
                if (_visitedAtMerge[p] == mergeNumber) continue;
                _visitedAtMerge[p] = mergeNumber;
                var symbols = _pieces[p];
                var length = _lengths[p];
                var frequency = _frequencies[p];
                if (!ContainsPair(symbols, length, left, right)) continue;

                for (var i = 0; i + 1 < length; i++) _pairCounts[Pair(symbols[i], symbols[i + 1])] -= frequency;
                var written = 0;
                for (var i = 0; i < length; i++)
                {
                    if (i + 1 < length && symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[written++] = merged;
                        i++;
                    }
                    else
                        symbols[written++] = symbols[i];
                }
                _lengths[p] = written;
                for (var i = 0; i + 1 < written; i++)
                {
                    var newPair = Pair(symbols[i], symbols[i + 1]);
                    CollectionsMarshal.GetValueRefOrAddDefault(_pairCounts, newPair, out _) += frequency;
                    // Only pairs with the new symbol are new to this piece; the piece is already indexed under the others.
                    if (symbols[i] == merged || symbols[i + 1] == merged)
                    {
                        IndexPair(newPair, p);
                        increased.Add(newPair);
                    }
                }
            }
            _pairCounts.Remove(pair);
            _pairPieces.Remove(pair);
            foreach (var changed in increased) _queue.Enqueue((changed, _pairCounts[changed]), (changed, _pairCounts[changed]));
        }

        private static bool ContainsPair(int[] symbols, int length, int left, int right)
        {
            for (var i = 0; i + 1 < length; i++)
                if (symbols[i] == left && symbols[i + 1] == right) return true;
            return false;
        }
    }
}
