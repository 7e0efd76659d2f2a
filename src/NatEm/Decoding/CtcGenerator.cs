using NatEm.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Decoding;

/// <summary>CTC output search over a sentence's per-position top-k table (the grid of a CTC model).</summary>
public static class CtcDecoding
{
    /// <summary>The argmax path (rank 0 of every position) and its log-probability.</summary>
    public static (int[] Path, double LogProb) BestPath(TopKTable frames)
    {
        var path = new int[frames.Length];
        double logProb = 0;
        var ids = frames.Ids.Span;
        var logProbs = frames.LogProbs.Span;
        for (int t = 0; t < frames.Length; t++)
        {
            path[t] = ids[t * frames.K];
            logProb += logProbs[t * frames.K];
        }
        return (path, logProb);
    }

    /// <summary>
    /// CTC prefix beam search (Hannun et al. 2014) over the table's top-k tokens per position: the
    /// <paramref name="width"/> outputs of highest probability summed over their alignments, best first, each with
    /// that log-probability. Tokens outside a position's top k are not extended there.
    /// </summary>
    public static IReadOnlyList<(int[] Tokens, double LogProb)> PrefixBeam(TopKTable frames, int width)
    {
        var comparer = new SequenceComparer();
        var beams = new Dictionary<int[], (double Blank, double NonBlank)>(comparer) { [[]] = (0, double.NegativeInfinity) };
        var ids = frames.Ids.Span;
        var logProbs = frames.LogProbs.Span;
        for (int t = 0; t < frames.Length; t++)
        {
            var next = new Dictionary<int[], (double Blank, double NonBlank)>(comparer);
            void Add(int[] prefix, double blank, double nonBlank)
            {
                var (b, n) = next.TryGetValue(prefix, out var old) ? old : (double.NegativeInfinity, double.NegativeInfinity);
                next[prefix] = (LogAdd(b, blank), LogAdd(n, nonBlank));
            }
            foreach (var (prefix, (blank, nonBlank)) in beams)
            {
                double total = LogAdd(blank, nonBlank);
                for (int r = 0; r < frames.K; r++)
                {
                    int token = ids[t * frames.K + r];
                    double p = logProbs[t * frames.K + r];
                    if (token == Ctc.Blank)
                    {
                        Add(prefix, total + p, double.NegativeInfinity);
                        continue;
                    }
                    int[] extended = [.. prefix, token];
                    if (prefix.Length > 0 && prefix[^1] == token)
                    {
                        // A repeat needs a blank between; without one, the token merges into the prefix's last.
                        Add(extended, double.NegativeInfinity, blank + p);
                        Add(prefix, double.NegativeInfinity, nonBlank + p);
                    }
                    else Add(extended, double.NegativeInfinity, total + p);
                }
            }
            beams = next.OrderByDescending(e => LogAdd(e.Value.Blank, e.Value.NonBlank)).Take(width).ToDictionary(e => e.Key, e => e.Value, comparer);
        }
        return beams.Select(e => (e.Key, LogAdd(e.Value.Blank, e.Value.NonBlank))).OrderByDescending(e => e.Item2).ToList();
    }

    private static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        double max = Math.Max(a, b);
        return max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
    }

    private sealed class SequenceComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(int[] sequence)
        {
            var hash = new HashCode();
            foreach (int id in sequence) hash.Add(id);
            return hash.ToHashCode();
        }
    }
}

/// <summary>
/// Parallel decoding with a CTC <see cref="NarTransformer"/>: one decoder pass over the R·|x| positions, then the
/// argmax path collapsed (repeats merged, blanks dropped) at <c>--length-beam</c> 1; at N &gt; 1, the N best
/// outputs of a CTC prefix beam search, the most probable kept, or the AR re-scorer's best when one is given.
/// No length is predicted, so the length beam's width here is the number of candidates. At every width the raw tokens
/// (<see cref="Generation.RawTokens"/>) are the chosen output after collapse, and the predicted length is its length.
/// </summary>
public sealed class CtcGenerator : IGenerator
{
    private readonly NarTransformer model;
    private readonly NarDecodingOptions options;
    private readonly ArTransformer? rescorer;

    /// <exception cref="NatEmException">The options are out of range (a usage error).</exception>
    public CtcGenerator(NarTransformer model, NarDecodingOptions options, ArTransformer? rescorer = null)
    {
        options.Validate();
        if (!model.IsCtc) throw new ArgumentException("CtcGenerator decodes CTC models only", nameof(model));
        this.model = model;
        this.options = options;
        this.rescorer = rescorer;
    }

    public ITranslationModel Model => model;
    public SearchWidth Width => new("--length-beam", options.LengthBeam);
    public bool GivesRawTokens => true;
    /// <summary>"ctc" as the decoder: --decoder is ignored, every output is collapsed.</summary>
    public DecodingDescription DescribeOptions() => NarDecodingOptions.Describe("ctc", options.LengthBeam);

    public NarOutput[] Generate(IReadOnlyList<int[]> sources)
    {
        if (sources.Count == 0) return [];
        int width = options.LengthBeam;
        TopKBatch table;
        model.Module.eval();
        using (torch.inference_mode())
        using (torch.NewDisposeScope())
        {
            var (logProbs, gridLengths) = model.CtcLogProbs(SequenceTensors.Source(sources));
            var (values, ids) = logProbs.topk(Math.Min(width == 1 ? 1 : width + 1, model.Config.VocabSize), dim: -1);
            table = new TopKBatch(gridLengths.data<long>().Select(l => (int)l).ToArray(), (int)values.shape[1], (int)values.shape[2],
                ids.to_type(ScalarType.Int32).data<int>().ToArray(), values.data<float>().ToArray());
        }

        var outputs = new NarOutput[sources.Count];
        var candidates = new List<(int Source, int[] Tokens, double LogProb)>();
        for (int i = 0; i < sources.Count; i++)
        {
            var (output, beam) = Decode(table.Sentence(i), width);
            outputs[i] = output;
            candidates.AddRange(beam.Select(c => (i, c.Tokens, c.LogProb)));
        }
        if (width == 1 || rescorer is null) return outputs;
        var arScores = SequenceScoring.ArLogLikelihood(rescorer, candidates.Select(c => sources[c.Source]).ToList(), candidates.Select(c => c.Tokens).ToList());
        foreach (var group in candidates.Select((c, j) => (c.Source, c.Tokens, Score: arScores[j] / (c.Tokens.Length + 1))).GroupBy(c => c.Source))
        {
            var best = group.MaxBy(c => c.Score);
            outputs[group.Key] = Output(best.Tokens, best.Score);
        }
        return outputs;
    }

    /// <summary>
    /// One sentence's candidates from its grid, best first (width 1: the argmax path collapsed, with the path's
    /// log-probability; N &gt; 1: the prefix beam's N best), and its output before any re-scoring: the best of them.
    /// </summary>
    internal static (NarOutput Output, IReadOnlyList<(int[] Tokens, double LogProb)> Candidates) Decode(TopKTable frames, int width)
    {
        IReadOnlyList<(int[] Tokens, double LogProb)> candidates;
        if (width == 1)
        {
            var (path, logProb) = CtcDecoding.BestPath(frames);
            candidates = [(Ctc.Collapse(path), logProb)];
        }
        else candidates = CtcDecoding.PrefixBeam(frames, width);
        var (tokens, bestLogProb) = candidates[0];
        return (Output(tokens, bestLogProb / Math.Max(1, tokens.Length)), candidates);
    }

    /// <summary>
    /// A chosen output, which is also its raw tokens and its length the decoded length: frame repeats are how CTC
    /// spells a token, so the repetition diagnostic counts only the repeats that survive collapse ("a _ a"), which are printed.
    /// </summary>
    private static NarOutput Output(int[] tokens, double score) => new(tokens, score, tokens.Length, tokens);

    Generation[] IGenerator.Generate(IReadOnlyList<int[]> sources) =>
        Generate(sources).Select(o => new Generation([new Hypothesis(o.Tokens, o.Score)], o.RawTokens, o.PredictedLength)).ToArray();

    /// <summary>One decoder pass over R·|x| positions, whatever the width (the beam search runs on the top-k table).</summary>
    public long BatchBytes(int sentences, int width, int sourceLength) =>
        DecodingMemory.NarBytes(model.Config, sentences, 1, sourceLength, Math.Min(model.Config.MaxPositions, model.Config.Upsample * Math.Max(1, sourceLength)));

    /// <summary>One pass over the grid, plus AR scoring of every candidate when a re-scorer chooses among several.</summary>
    public WorkCost Cost(double sourceTokens, double targetTokens)
    {
        var decoding = DecoderCost.ParallelPass(model.Config, sourceTokens, model.Config.Upsample * sourceTokens, 1);
        return rescorer is not null && options.LengthBeam > 1
            ? decoding + DecoderCost.ParallelPass(rescorer.Config, sourceTokens, targetTokens + 1, options.LengthBeam)
            : decoding;
    }
}
