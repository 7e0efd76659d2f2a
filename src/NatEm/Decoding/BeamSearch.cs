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
    public DecodingDescription Describe() => new(new() { ["beam"] = Beam }, $"beam {Beam}");

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
    public DecodingDescription DescribeOptions() => options.Describe();

    /// <summary>Decodes every source; for each returns up to NBest hypotheses, best first.</summary>
    public Hypothesis[][] Generate(IReadOnlyList<int[]> sources)
    {
        if (sources.Count == 0) return [];
        model.Module.eval();
        using var _ = torch.inference_mode();
        using var outer = torch.NewDisposeScope();

        int[] maxLengths = sources.Select(s => options.OutputLimit(s.Length, model.Config)).ToArray();
        var finished = sources.Select(_ => new List<Hypothesis>()).ToArray();
        var memory = model.Encode(SequenceTensors.Source(sources));
        var rows = arange(sources.Count, dtype: ScalarType.Int64).repeat_interleave(options.Beam);
        var state = model.StartDecoding(memory.IndexSelect(rows), maxLengths.Max());
        var neverNext = tensor(new long[] { SpecialTokens.Pad, SpecialTokens.Bos });

        var live = InitialBeams(sources.Count);
        for (int step = 0; ; step++)
        {
            var mustEnd = live.Sentences.Select(s => step >= maxLengths[s] - 1).ToArray();
            var candidates = TopCandidates(live, state, mustEnd, neverNext);
            var next = SelectCandidates(live, candidates, mustEnd, finished);
            if (next.Sentences.Count == 0) break;
            // Rows 0, 1, … of the same sentences (greedy search, mostly) leave the cache as it is.
            bool sameSentences = next.Sentences.Count == live.Sentences.Count;
            if (!sameSentences || next.Rows.Where((row, i) => row != i).Any())
            {
                using var rowTensor = tensor(next.Rows.ToArray());
                state.Reorder(rowTensor, sameSentences);
            }
            live = next;
        }
        return finished.Select(NBestOf).ToArray();
    }

    /// <summary>
    /// The hypotheses a step extends, Beam rows per sentence still searching: the row of the step before that each
    /// continues (the cache follows it), its last token, running log-probability and tokens so far.
    /// </summary>
    private sealed class Beams
    {
        public List<int> Sentences { get; } = [];
        public List<long> Rows { get; } = [];
        public List<long> Tokens { get; } = [];
        public List<float> Scores { get; } = [];
        public List<int[]> Histories { get; } = [];

        public void Add(long row, long token, float score, int[] history)
        {
            Rows.Add(row);
            Tokens.Add(token);
            Scores.Add(score);
            Histories.Add(history);
        }
    }

    /// <summary>Step 0: bos in every row, but only the first beam of each sentence live, so the top-k does not pick copies.</summary>
    private Beams InitialBeams(int sentences)
    {
        var beams = new Beams();
        beams.Sentences.AddRange(Enumerable.Range(0, sentences));
        for (int row = 0; row < sentences * options.Beam; row++)
            beams.Add(row, SpecialTokens.Bos, row % options.Beam == 0 ? 0f : float.NegativeInfinity, []);
        return beams;
    }

    /// <summary>The best 2·Beam candidates (scores and beam·vocab indices) of each live sentence, read in one go.</summary>
    private readonly record struct Candidates(float[] Scores, long[] Indices, int Width);

    /// <summary>
    /// Runs one decoder step on the live rows and returns each sentence's best continuations over all its beams: the
    /// running score plus the next token's log-probability. pad and bos never come next; a sentence at its length limit
    /// can only end.
    /// </summary>
    private Candidates TopCandidates(Beams live, DecoderState state, bool[] mustEnd, Tensor neverNext)
    {
        int beam = options.Beam, vocab = model.Config.VocabSize;
        using var scope = torch.NewDisposeScope();
        var logProbs = model.DecodeStep(tensor(live.Tokens.ToArray()), state);
        logProbs.index_fill_(1, neverNext, float.NegativeInfinity);
        if (mustEnd.Any(x => x))
        {
            var endRows = tensor(mustEnd.SelectMany(x => Enumerable.Repeat(x, beam)).ToArray()).unsqueeze(1);
            var eosOnly = full(vocab, float.NegativeInfinity).index_fill_(0, tensor(new long[] { SpecialTokens.Eos }), 0f);
            logProbs = where(endRows, logProbs + eosOnly.unsqueeze(0), logProbs);
        }
        var scores = logProbs.add_(tensor(live.Scores.ToArray()).unsqueeze(1)).view(live.Sentences.Count, beam * vocab);
        var (topScores, topIndices) = scores.topk(Math.Min(2 * beam, beam * vocab), dim: 1);
        // The one read of the step: the candidates' scores and indices.
        return new(topScores.data<float>().ToArray(), topIndices.data<long>().ToArray(), (int)topScores.shape[1]);
    }

    /// <summary>
    /// For each live sentence, in rank order: a candidate that ends (eos, or any at the length limit) joins
    /// <paramref name="finished"/>, the others continue until Beam do. A sentence stops searching once it has Beam
    /// finished hypotheses, nothing continues or it reached its limit; the rest fill their Beam rows, with −∞ rows
    /// when fewer continue.
    /// </summary>
    private Beams SelectCandidates(Beams live, Candidates candidates, bool[] mustEnd, List<Hypothesis>[] finished)
    {
        int beam = options.Beam, vocab = model.Config.VocabSize, width = candidates.Width;
        var next = new Beams();
        for (int a = 0; a < live.Sentences.Count; a++)
        {
            int sentence = live.Sentences[a];
            var selected = new List<(long Row, int Token, float Score)>();
            for (int c = 0; c < width && selected.Count < beam; c++)
            {
                float score = candidates.Scores[a * width + c];
                if (float.IsNegativeInfinity(score)) break;
                long index = candidates.Indices[a * width + c];
                int beamOfOrigin = (int)(index / vocab), token = (int)(index % vocab);
                long row = (long)a * beam + beamOfOrigin;
                // At the last step every candidate ends the hypothesis, whatever the scores say: with NaN
                // scores the eos forcing has no effect, and the step count must still bound the search.
                if (token == SpecialTokens.Eos || mustEnd[a])
                {
                    // fairseq counts an eos only when it ranks among the top `beam` candidates.
                    if (c < beam && finished[sentence].Count < beam)
                        finished[sentence].Add(Finish(live.Histories[(int)row], score, options.LengthPenalty));
                }
                else selected.Add((row, token, score));
            }
            if (finished[sentence].Count >= beam || selected.Count == 0 || mustEnd[a]) continue;
            next.Sentences.Add(sentence);
            for (int b = 0; b < beam; b++)
            {
                var (row, token, score) = b < selected.Count ? selected[b] : (selected[0].Row, selected[0].Token, float.NegativeInfinity);
                next.Add(row, token, score, [.. live.Histories[(int)row], token]);
            }
        }
        return next;
    }

    /// <summary>A sentence's NBest finished hypotheses, best first; a sentence that finished none gets an empty output scoring −∞.</summary>
    private Hypothesis[] NBestOf(List<Hypothesis> finished) =>
        finished.Count > 0 ? finished.OrderByDescending(h => h.Score).Take(options.NBest).ToArray() : [new Hypothesis([], double.NegativeInfinity)];

    Generation[] IGenerator.Generate(IReadOnlyList<int[]> sources) => Generate(sources).Select(n => new Generation(n)).ToArray();

    public long BatchBytes(int sentences, int width, int sourceLength) =>
        DecodingMemory.BeamSearchBytes(model.Config, sentences, width, sourceLength, options.OutputLimit(sourceLength, model.Config));

    public WorkCost Cost(double sourceTokens, double targetTokens) => DecoderCost.ArSentence(model.Config, sourceTokens, targetTokens + 1, options.Beam);

    private static Hypothesis Finish(int[] tokens, float logProb, double lengthPenalty) =>
        new(tokens, logProb / Math.Pow(tokens.Length + 1, lengthPenalty));
}
