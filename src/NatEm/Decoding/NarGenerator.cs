using NatEm.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Decoding;

/// <summary>How NAR output tokens are chosen from the per-position distributions.</summary>
public enum NarDecoder
{
    /// <summary>Most likely token at every position.</summary>
    Argmax,
    /// <summary>Argmax, then consecutive repeats collapsed.</summary>
    Dedup,
    /// <summary>Optimal de-duplicated decoding: the best sequence without equal neighbours (exact DP over top-3).</summary>
    Odd,
}

public sealed record NarDecodingOptions
{
    public NarDecoder Decoder { get; init; } = NarDecoder.Odd;
    /// <summary>Number of most likely target lengths decoded per sentence (the paper's length beam).</summary>
    public int LengthBeam { get; init; } = 1;

    public void Validate()
    {
        if (LengthBeam is < 1 or > 32) throw new NatEmException("--length-beam must be between 1 and 32", ExitCodes.Usage);
    }

    /// <summary>The options that shape the output, for <see cref="IGenerator.DescribeOptions"/>.</summary>
    public DecodingDescription Describe() => Describe(Decoder.ToString().ToLowerInvariant(), LengthBeam);

    /// <summary>A NAR generator's description: the decoder it applies and the length beam.</summary>
    public static DecodingDescription Describe(string decoder, int lengthBeam) =>
        new(new() { ["decoder"] = decoder, ["length_beam"] = lengthBeam }, $"{decoder}, length beam {lengthBeam}", decoder);

    /// <summary>The longest target the model can predict for a source of this length.</summary>
    public static int TargetLimit(int sourceLength, TransformerConfig model) => Math.Min(model.MaxPositions,
        model.LengthPrediction == LengthPrediction.Absolute ? model.MaxTargetLength : sourceLength + model.MaxLengthOffset);
}

/// <summary>
/// A NAR translation: chosen tokens, the score that chose it, and the decoded length and raw tokens the diagnostics
/// read (<see cref="Generation.PredictedLength"/>, <see cref="Generation.RawTokens"/>).
/// <paramref name="Others"/> are the other length candidates, best first (empty at length beam 1).
/// </summary>
public sealed record NarOutput(int[] Tokens, double Score, int PredictedLength, int[] RawTokens, IReadOnlyList<Hypothesis>? Others = null);

/// <summary>
/// Parallel decoding with a <see cref="NarTransformer"/>: predict the top lengths, decode every length
/// candidate in one forward pass, pick tokens per position (argmax / dedup / ODD), then keep the best
/// candidate by mean token log-probability, or by the AR model's length-normalized score when a re-scorer is given.
/// </summary>
public sealed class NarGenerator : IGenerator
{
    private readonly NarTransformer model;
    private readonly NarDecodingOptions options;
    private readonly ArTransformer? rescorer;

    /// <exception cref="NatEmException">The options are out of range (a usage error).</exception>
    public NarGenerator(NarTransformer model, NarDecodingOptions options, ArTransformer? rescorer = null)
    {
        options.Validate();
        this.model = model;
        this.options = options;
        this.rescorer = rescorer;
    }

    public ITranslationModel Model => model;
    public NarDecodingOptions Options => options;
    /// <summary>The AR model that re-scores the length candidates, if any.</summary>
    public ArTransformer? Rescorer => rescorer;
    public SearchWidth Width => new("--length-beam", options.LengthBeam);
    public bool GivesRawTokens => true;
    public DecodingDescription DescribeOptions() => options.Describe();

    public NarOutput[] Generate(IReadOnlyList<int[]> sources)
    {
        if (sources.Count == 0) return [];
        int beam = options.LengthBeam, k = DeduplicatedDecoding.DefaultCandidates;
        int[] lengths;
        TopKBatch table;
        model.Module.eval();
        using (torch.inference_mode())
        using (torch.NewDisposeScope())
        {
            var source = SequenceTensors.Source(sources);
            var (memory, lengthLogits) = model.Encode(source);
            var classes = lengthLogits.topk(Math.Min(beam, model.LengthClasses), dim: 1).indexes;
            beam = (int)classes.shape[1];
            var candidateLengths = model.ClassToLength(classes, source).reshape(-1);
            var rows = arange(sources.Count, dtype: ScalarType.Int64).repeat_interleave(beam);
            var logProbs = model.DecodeTokens(source.index_select(0, rows), memory.IndexSelect(rows), candidateLengths).log_softmax(-1);
            var (topValues, topIds) = logProbs.topk(Math.Min(k, model.Config.VocabSize), dim: -1);
            k = (int)topValues.shape[2];
            lengths = candidateLengths.data<long>().Select(l => (int)l).ToArray();
            table = new TopKBatch(lengths, (int)topValues.shape[1], k,
                topIds.to_type(ScalarType.Int32).data<int>().ToArray(), topValues.data<float>().ToArray());
        }

        var candidates = new NarOutput[lengths.Length];
        var odd = options.Decoder == NarDecoder.Odd ? DeduplicatedDecoding.Odd(table, k) : null;
        for (int i = 0; i < candidates.Length; i++)
        {
            var sentence = table.Sentence(i);
            var argmax = DeduplicatedDecoding.Argmax(sentence);
            var (tokens, logProb) = options.Decoder switch
            {
                NarDecoder.Odd => (odd![i].Tokens, odd[i].LogProb),
                NarDecoder.Dedup => (DeduplicatedDecoding.Dedup(sentence), TopLogProbSum(sentence)),
                _ => (argmax, TopLogProbSum(sentence)),
            };
            candidates[i] = new NarOutput(tokens, logProb / Math.Max(1, lengths[i]), lengths[i], argmax);
        }
        if (beam == 1) return candidates;
        if (rescorer is not null)
        {
            var repeatedSources = Enumerable.Range(0, candidates.Length).Select(i => sources[i / beam]).ToList();
            var arScores = SequenceScoring.ArLogLikelihood(rescorer, repeatedSources, candidates.Select(c => c.Tokens).ToList());
            candidates = candidates.Select((c, i) => c with { Score = arScores[i] / (c.Tokens.Length + 1) }).ToArray();
        }
        return Enumerable.Range(0, sources.Count).Select(s =>
        {
            // A stable sort: among equal scores the more likely length (listed first) stays first.
            var ranked = candidates.Skip(s * beam).Take(beam).OrderByDescending(c => c.Score).ToList();
            return ranked[0] with { Others = ranked.Skip(1).Select(c => new Hypothesis(c.Tokens, c.Score)).ToList() };
        }).ToArray();
    }

    /// <summary>The chosen candidate first, then the other length candidates (LibreTranslate's alternatives).</summary>
    Generation[] IGenerator.Generate(IReadOnlyList<int[]> sources) =>
        Generate(sources).Select(o => new Generation([new Hypothesis(o.Tokens, o.Score), .. o.Others ?? []], o.RawTokens, o.PredictedLength)).ToArray();

    public long BatchBytes(int sentences, int width, int sourceLength) =>
        DecodingMemory.NarBytes(model.Config, sentences, width, sourceLength, NarDecodingOptions.TargetLimit(sourceLength, model.Config));

    /// <summary>One pass over every length candidate, plus AR scoring of each when a re-scorer chooses among several.</summary>
    public WorkCost Cost(double sourceTokens, double targetTokens)
    {
        var decoding = DecoderCost.ParallelPass(model.Config, sourceTokens, targetTokens, options.LengthBeam);
        return rescorer is not null && options.LengthBeam > 1
            ? decoding + DecoderCost.ParallelPass(rescorer.Config, sourceTokens, targetTokens + 1, options.LengthBeam)
            : decoding;
    }

    private static double TopLogProbSum(TopKTable sentence)
    {
        double sum = 0;
        var logProbs = sentence.LogProbs.Span;
        for (int t = 0; t < sentence.Length; t++) sum += logProbs[t * sentence.K];
        return sum;
    }
}
