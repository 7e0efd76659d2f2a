using System.Text.Json.Nodes;
using NatEm.Modeling;
using NatEm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Decoding;

/// <summary>Options of autoregressive decoding. Beam 1 is greedy search.</summary>
public sealed record BeamSearchOptions
{
    public int Beam { get; init; } = 4;
    /// <summary>Hypotheses are ranked by logprob / length^LengthPenalty (fairseq --lenpen); 0 = raw log-prob.</summary>
    public double LengthPenalty { get; init; } = 1.0;
    /// <summary>The largest length penalty accepted; beyond it length^P decides alone (fairseq's values are around 0.6 to 2).</summary>
    public const double MaxLengthPenalty = 10;
    /// <summary>Hypotheses returned per sentence (≤ Beam).</summary>
    public int NBest { get; init; } = 1;
    /// <summary>Maximum output length is MaxLengthA·|source| + MaxLengthB tokens (fairseq --max-len-a/b).</summary>
    public double MaxLengthA { get; init; } = 1.5;
    public int MaxLengthB { get; init; } = 10;
    /// <summary>Hard cap on output length (the model's position table).</summary>
    public int MaxLengthCap { get; init; } = 400;

    public static BeamSearchOptions Greedy => new() { Beam = 1 };

    /// <summary>The option that shapes the output, for <see cref="IGenerator.DescribeOptions"/>.</summary>
    public (JsonObject Json, string Phrase) Describe() => (new() { ["beam"] = Beam }, $"beam {Beam}");

    /// <summary>The longest output (in tokens, with eos) for a source of this length: MaxLengthA·|source| + MaxLengthB,
    /// capped by MaxLengthCap and the model's positions.</summary>
    public int OutputLimit(int sourceLength, TransformerConfig model) =>
        Math.Max(1, Math.Min(Math.Min(MaxLengthCap, model.MaxPositions - 1), (int)(MaxLengthA * sourceLength) + MaxLengthB));

    public void Validate()
    {
        if (Beam < 1) throw new NatEmException("--beam must be at least 1", ExitCodes.Usage);
        if (NBest < 1 || NBest > Beam) throw new NatEmException($"--nbest must be between 1 and --beam ({Beam})", ExitCodes.Usage);
        if (LengthPenalty is not (>= 0 and <= MaxLengthPenalty))
            throw new NatEmException($"--length-penalty must be between 0 and {MaxLengthPenalty}, not {LengthPenalty}", ExitCodes.Usage);
        if (MaxLengthA is not >= 0 || MaxLengthB < 1) throw new NatEmException("--max-len-a must be ≥ 0 and --max-len-b ≥ 1", ExitCodes.Usage);
    }
}

/// <summary>A decoded output: tokens (without bos/eos) and the score that ranks it.</summary>
public sealed record Hypothesis(int[] Tokens, double Score);

/// <summary>
/// Batched beam search over an <see cref="ArTransformer"/> with an incremental key/value cache. Finished
/// sentences leave the batch; a sentence finishes when it has Beam complete hypotheses (fairseq's rule).
/// Beam 1 is greedy search.
/// </summary>
public sealed class BeamSearch : IGenerator
{
    private readonly ArTransformer model;
    private readonly BeamSearchOptions options;

    /// <exception cref="NatEmException">The options are out of range (a usage error).</exception>
    public BeamSearch(ArTransformer model, BeamSearchOptions options)
    {
        options.Validate();
        this.model = model;
        this.options = options;
    }

    public ITranslationModel Model => model;
    public BeamSearchOptions Options => options;
    public SearchWidth Width => new("--beam", options.Beam);
    public bool GivesRawTokens => false;
    public (JsonObject Json, string Phrase) DescribeOptions() => options.Describe();

    /// <summary>Decodes every source; for each returns up to NBest hypotheses, best first.</summary>
    public Hypothesis[][] Generate(IReadOnlyList<int[]> sources)
    {
        var results = new Hypothesis[sources.Count][];
        if (sources.Count == 0) return results;
        model.Module.eval();
        using var _ = torch.inference_mode();
        using var outer = torch.NewDisposeScope();

        int beam = options.Beam, vocab = model.Config.VocabSize;
        int[] maxLengths = sources.Select(s => options.OutputLimit(s.Length, model.Config)).ToArray();
        int maxSteps = maxLengths.Max();
        var finished = sources.Select(_ => new List<Hypothesis>()).ToArray();

        var memory = model.Encode(SequenceTensors.Source(sources));
        var rows = arange(sources.Count, dtype: ScalarType.Int64).repeat_interleave(beam);
        var state = model.StartDecoding(memory.IndexSelect(rows), maxSteps);
        // Only the first beam of each sentence is live at step 0, so the top-k does not pick copies.
        var initial = new float[sources.Count * beam];
        for (int i = 0; i < initial.Length; i++) initial[i] = i % beam == 0 ? 0f : float.NegativeInfinity;
        var scores = tensor(initial);
        var previous = full(sources.Count * beam, SpecialTokens.Bos, dtype: ScalarType.Int64);
        var active = Enumerable.Range(0, sources.Count).ToList();
        var histories = Enumerable.Range(0, sources.Count * beam).Select(_ => Array.Empty<int>()).ToArray();

        var neverNext = tensor(new long[] { SpecialTokens.Pad, SpecialTokens.Bos });
        for (int step = 0; active.Count > 0; step++)
        {
            var mustEnd = active.Select(s => step >= maxLengths[s] - 1).ToArray();
            float[] topScore;
            long[] topIndex;
            int width;
            using (torch.NewDisposeScope())
            {
                var logProbs = model.DecodeStep(previous, state);
                logProbs.index_fill_(1, neverNext, float.NegativeInfinity);
                if (mustEnd.Any(x => x))
                {
                    var endRows = tensor(mustEnd.SelectMany(x => Enumerable.Repeat(x, beam)).ToArray()).unsqueeze(1);
                    var eosOnly = full(vocab, float.NegativeInfinity).index_fill_(0, tensor(new long[] { SpecialTokens.Eos }), 0f);
                    logProbs = where(endRows, logProbs + eosOnly.unsqueeze(0), logProbs);
                }
                var candidates = logProbs.add_(scores.unsqueeze(1)).view(active.Count, beam * vocab);
                var (topScores, topIndices) = candidates.topk(Math.Min(2 * beam, beam * vocab), dim: 1);
                // The one read of the step: the candidates' scores and indices.
                topScore = topScores.data<float>().ToArray();
                topIndex = topIndices.data<long>().ToArray();
                width = (int)topScores.shape[1];
            }

            var nextRows = new List<long>();
            var nextTokens = new List<long>();
            var nextScores = new List<float>();
            var nextHistories = new List<int[]>();
            var stillActive = new List<int>();
            for (int a = 0; a < active.Count; a++)
            {
                int sentence = active[a];
                var selected = new List<(long Row, int Token, float Score)>();
                for (int c = 0; c < width && selected.Count < beam; c++)
                {
                    float score = topScore[a * width + c];
                    if (float.IsNegativeInfinity(score)) break;
                    long index = topIndex[a * width + c];
                    int beamOfOrigin = (int)(index / vocab), token = (int)(index % vocab);
                    long row = (long)a * beam + beamOfOrigin;
                    // At the last step every candidate ends the hypothesis, whatever the scores say: with NaN
                    // scores the eos forcing above has no effect, and the step count must still bound the search.
                    if (token == SpecialTokens.Eos || mustEnd[a])
                    {
                        // fairseq counts an eos only when it ranks among the top `beam` candidates.
                        if (c < beam && finished[sentence].Count < beam)
                            finished[sentence].Add(Finish(histories[row], score, options.LengthPenalty));
                    }
                    else selected.Add((row, token, score));
                }
                if (finished[sentence].Count >= beam || selected.Count == 0 || mustEnd[a]) continue;
                stillActive.Add(sentence);
                for (int b = 0; b < beam; b++)
                {
                    var (row, token, score) = b < selected.Count ? selected[b] : (selected[0].Row, selected[0].Token, float.NegativeInfinity);
                    nextRows.Add(row);
                    nextTokens.Add(token);
                    nextScores.Add(score);
                    nextHistories.Add([.. histories[row], token]);
                }
            }
            bool sameSentences = stillActive.Count == active.Count;
            active = stillActive;
            if (active.Count == 0) break;

            // Rows 0, 1, … of the same sentences (greedy search, mostly) leave the cache as it is.
            if (!sameSentences || nextRows.Where((row, i) => row != i).Any())
            {
                using var rowTensor = tensor(nextRows.ToArray());
                state.Reorder(rowTensor, sameSentences);
            }
            previous.Dispose();
            scores.Dispose();
            previous = tensor(nextTokens.ToArray());
            scores = tensor(nextScores.ToArray());
            histories = nextHistories.ToArray();
        }

        for (int s = 0; s < sources.Count; s++)
            results[s] = finished[s].Count > 0
                ? finished[s].OrderByDescending(h => h.Score).Take(options.NBest).ToArray()
                : [new Hypothesis([], double.NegativeInfinity)];
        return results;
    }

    Generation[] IGenerator.Generate(IReadOnlyList<int[]> sources) => Generate(sources).Select(n => new Generation(n)).ToArray();

    public long BatchBytes(int sentences, int width, int sourceLength) =>
        DecodingMemory.BeamSearchBytes(model.Config, sentences, width, sourceLength, options.OutputLimit(sourceLength, model.Config));

    public WorkCost Cost(double sourceTokens, double targetTokens) => DecoderCost.ArSentence(model.Config, sourceTokens, targetTokens + 1, options.Beam);

    private static Hypothesis Finish(int[] tokens, float logProb, double lengthPenalty) =>
        new(tokens, logProb / Math.Pow(tokens.Length + 1, lengthPenalty));
}
