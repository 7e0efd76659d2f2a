using NatEm.Modeling;
using NatEm.Text;

namespace NatEm.Decoding;

/// <summary>Options of <see cref="Translator"/>: the decoder settings of both model kinds plus batching.</summary>
public sealed record TranslationOptions
{
    /// <summary>AR decoding (beam 1 = greedy).</summary>
    public BeamSearchOptions Beam { get; init; } = new();
    /// <summary>NAR decoding (decoder, length beam).</summary>
    public NarDecodingOptions Nar { get; init; } = new();
    /// <summary>Sentences decoded together (sorted by length to limit padding).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Inputs longer than this many subword tokens are truncated (with a warning).</summary>
    public int MaxInputTokens { get; init; } = 250;
    /// <summary>What one decoding batch may need (<see cref="DecodingMemory"/>; default half of this machine's memory).
    /// Options that need more for a single input are usage errors; batches that would need more are split.</summary>
    public long MemoryBudgetBytes { get; init; } = DecodingMemory.DefaultBudgetBytes;

    public void Validate()
    {
        Beam.Validate();
        Nar.Validate();
        if (BatchSize < 1) throw new NatEmException("--batch-size must be at least 1", ExitCodes.Usage);
        if (MaxInputTokens < 1) throw new NatEmException("--max-input-tokens must be at least 1", ExitCodes.Usage);
        if (MemoryBudgetBytes < 1) throw new NatEmException("the decoding memory budget must be positive", ExitCodes.Usage);
    }

    /// <summary>
    /// Also bounds the options by the model: <see cref="ValidateWidth"/>, and a batch of BatchSize one-token inputs
    /// must fit the memory budget too.
    /// </summary>
    public void Validate(TransformerConfig model, ModelKind kind)
    {
        ValidateWidth(model, kind);
        int width = kind == ModelKind.Autoregressive ? Beam.Beam : Nar.LengthBeam;
        DecodingMemory.Require("--batch-size", BatchSize, b => BatchBytes(model, kind, b, width, 1), MemoryBudgetBytes,
            $"even for one-token inputs at {(kind == ModelKind.Autoregressive ? "--beam" : "--length-beam")} {width}");
    }

    /// <summary>Inputs must fit the model's positions, and one input of MaxInputTokens tokens must fit the memory
    /// budget at the chosen beam or length beam (batches are split to fit it).</summary>
    public void ValidateWidth(TransformerConfig model, ModelKind kind)
    {
        Validate();
        int longestInput = model.MaxPositions - 2;
        if (MaxInputTokens > longestInput)
            throw new NatEmException($"--max-input-tokens {MaxInputTokens} exceeds the {longestInput} source tokens the model's positions cover", ExitCodes.Usage);
        var (option, width) = kind == ModelKind.Autoregressive ? ("--beam", Beam.Beam) : ("--length-beam", Nar.LengthBeam);
        DecodingMemory.Require(option, width, w => BatchBytes(model, kind, 1, w, MaxInputTokens), MemoryBudgetBytes,
            $"for one input of {MaxInputTokens} tokens (--max-input-tokens)");
    }

    /// <summary>The memory estimate of decoding <paramref name="sentences"/> inputs of up to <paramref name="sourceLength"/> tokens.</summary>
    public long BatchBytes(TransformerConfig model, ModelKind kind, int sentences, int width, int sourceLength) =>
        kind == ModelKind.Autoregressive
            ? DecodingMemory.BeamSearchBytes(model, sentences, width, sourceLength, Beam.OutputLimit(sourceLength, model))
            : DecodingMemory.NarBytes(model, sentences, width, sourceLength, NarDecodingOptions.TargetLimit(sourceLength, model));

    /// <summary>The memory estimate of one batch of these sources with these options.</summary>
    public long BatchBytes(TransformerConfig model, ModelKind kind, int sentences, int sourceLength) =>
        BatchBytes(model, kind, sentences, kind == ModelKind.Autoregressive ? Beam.Beam : Nar.LengthBeam, sourceLength);
}

/// <summary>
/// One translated line: best text and score, and the n-best list for AR beam search. NAR models also give the
/// raw argmax before de-duplication and the target length they decoded at.
/// </summary>
public sealed record Translation(string Text, double Score, int[] Tokens, IReadOnlyList<(string Text, double Score)> NBest,
    int[]? RawTokens = null, int? PredictedLength = null);

/// <summary>
/// Text in, text out: normalizes, encodes, decodes in length-sorted batches with an AR or NAR model
/// (optionally re-scoring NAR candidates with an AR model), restores input order and detokenizes.
/// Empty lines translate to empty lines.
/// </summary>
public sealed class Translator(LoadedModel model, ArTransformer? rescorer = null)
{
    public LoadedModel Model => model;

    /// <summary>The AR model that re-scores NAR length candidates, if any.</summary>
    public ArTransformer? Rescorer => rescorer;

    /// <summary>Called once per input truncated to MaxInputTokens, with its 0-based index.</summary>
    public event Action<int, int>? Truncated;

    public Translation[] Translate(IReadOnlyList<string> lines, TranslationOptions options) => TranslateIds(Encode(lines, options), options);

    /// <summary>Normalized, subword-encoded lines, each truncated to MaxInputTokens.</summary>
    public int[][] Encode(IReadOnlyList<string> lines, TranslationOptions options)
    {
        options.Validate(model.Model.Config, model.Model.Kind);
        var sources = new int[lines.Count][];
        for (int i = 0; i < lines.Count; i++)
        {
            var ids = model.Tokenizer.Encode(TextNormalizer.Normalize(lines[i]));
            if (ids.Length > options.MaxInputTokens)
            {
                Truncated?.Invoke(i, ids.Length);
                ids = ids[..options.MaxInputTokens];
            }
            sources[i] = ids;
        }
        return sources;
    }

    /// <summary>Decodes token-id sources; output order equals input order.</summary>
    public Translation[] TranslateIds(IReadOnlyList<int[]> sources, TranslationOptions options)
    {
        options.ValidateWidth(model.Model.Config, model.Model.Kind);
        var results = new Translation[sources.Count];
        var order = Enumerable.Range(0, sources.Count).Where(i => sources[i].Length > 0).OrderBy(i => sources[i].Length).ToArray();
        foreach (var i in Enumerable.Range(0, sources.Count).Where(i => sources[i].Length == 0))
            results[i] = new Translation("", 0, [], [("", 0)]);
        foreach (var chunk in Batches(order, sources, options))
        {
            var batch = chunk.Select(i => sources[i]).ToList();
            var decoded = Decode(batch, options);
            for (int j = 0; j < chunk.Length; j++) results[chunk[j]] = decoded[j];
        }
        return results;
    }

    /// <summary>Consecutive runs of the length-sorted inputs, each at most BatchSize long and within the memory budget.</summary>
    private IEnumerable<int[]> Batches(int[] sortedByLength, IReadOnlyList<int[]> sources, TranslationOptions options)
    {
        var batch = new List<int>();
        foreach (var i in sortedByLength)
        {
            // Sorted ascending, so the newest input is the batch's longest.
            if (batch.Count > 0 && (batch.Count == options.BatchSize
                    || options.BatchBytes(model.Model.Config, model.Model.Kind, batch.Count + 1, sources[i].Length) > options.MemoryBudgetBytes))
            {
                yield return [.. batch];
                batch.Clear();
            }
            batch.Add(i);
        }
        if (batch.Count > 0) yield return [.. batch];
    }

    private Translation[] Decode(IReadOnlyList<int[]> batch, TranslationOptions options)
    {
        switch (model.Model)
        {
            case ArTransformer ar:
                return new BeamSearch(ar).Generate(batch, options.Beam)
                    .Select(hyps => new Translation(Detokenize(hyps[0].Tokens), hyps[0].Score, hyps[0].Tokens,
                        hyps.Select(h => (Detokenize(h.Tokens), h.Score)).ToList()))
                    .ToArray();
            case NarTransformer nar:
                return new NarGenerator(nar, rescorer).Generate(batch, options.Nar)
                    .Select(o => new Translation(Detokenize(o.Tokens), o.Score, o.Tokens, [(Detokenize(o.Tokens), o.Score)], o.RawArgmax, o.PredictedLength))
                    .ToArray();
            default:
                throw new NotSupportedException(model.Model.GetType().Name);
        }
    }

    private string Detokenize(int[] tokens) => model.Tokenizer.Decode(tokens);
}
