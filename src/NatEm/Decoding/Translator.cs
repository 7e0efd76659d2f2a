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

    public void Validate()
    {
        Beam.Validate();
        Nar.Validate();
        if (BatchSize < 1) throw new NatEmException("--batch-size must be at least 1", ExitCodes.Usage);
        if (MaxInputTokens < 1) throw new NatEmException("--max-input-tokens must be at least 1", ExitCodes.Usage);
    }
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
        options.Validate();
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
        options.Validate();
        var results = new Translation[sources.Count];
        var order = Enumerable.Range(0, sources.Count).Where(i => sources[i].Length > 0).OrderBy(i => sources[i].Length).ToArray();
        foreach (var i in Enumerable.Range(0, sources.Count).Where(i => sources[i].Length == 0))
            results[i] = new Translation("", 0, [], [("", 0)]);
        foreach (var chunk in order.Chunk(options.BatchSize))
        {
            var batch = chunk.Select(i => sources[i]).ToList();
            var decoded = Decode(batch, options);
            for (int j = 0; j < chunk.Length; j++) results[chunk[j]] = decoded[j];
        }
        return results;
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
