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
    /// <summary>The options of one model kind that the user gave (on the command line or in a request), default or not:
    /// <see cref="Generators.Create"/> rejects those of the other kind rather than ignore them. None by default.</summary>
    public KindOptions Given { get; init; }

    /// <summary>The checks that need no model; <see cref="Generators.Create"/> makes them, with the rest.</summary>
    public void Validate()
    {
        if (BatchSize < 1) throw new NatEmException("--batch-size must be at least 1", ExitCodes.Usage);
        if (MaxInputTokens < 1) throw new NatEmException("--max-input-tokens must be at least 1", ExitCodes.Usage);
        if (MemoryBudgetBytes < 1) throw new NatEmException("the decoding memory budget must be positive", ExitCodes.Usage);
    }
}

/// <summary>The decoding options that apply to one model kind only, as flags (<see cref="TranslationOptions.Given"/>).</summary>
[Flags]
public enum KindOptions
{
    None = 0,
    /// <summary>AR: --beam.</summary>
    Beam = 1,
    /// <summary>AR: --length-penalty.</summary>
    LengthPenalty = 2,
    /// <summary>AR: --nbest (serve: a request's nbest).</summary>
    NBest = 4,
    /// <summary>NAR: --decoder (serve: a request's decoder).</summary>
    Decoder = 8,
    /// <summary>NAR: --length-beam.</summary>
    LengthBeam = 16,
    /// <summary>NAR: --rescore (also implied by a re-scorer given to <see cref="Generators.Create"/>).</summary>
    Rescore = 32,
}

/// <summary>
/// One translated line: best text and score, and the n-best list (AR beam search: up to NBest; NAR: every length
/// candidate, chosen first). NAR models also give the raw tokens and the length the diagnostics read (<see cref="Generation"/>).
/// </summary>
public sealed record Translation(string Text, double Score, int[] Tokens, IReadOnlyList<(string Text, double Score)> NBest,
    int[]? RawTokens = null, int? PredictedLength = null);

/// <summary>
/// Text in, text out: normalizes, encodes, decodes in length-sorted batches with the generator chosen for the model
/// (<see cref="Generators.Create"/>, which also validates the options, once), restores input order and detokenizes.
/// Empty lines translate to empty lines.
/// </summary>
public sealed class Translator
{
    private readonly ISubwordTokenizer tokenizer;

    /// <summary>A translator with <paramref name="model"/>'s generator; <paramref name="rescorer"/>, an AR model, re-scores NAR length candidates.</summary>
    /// <exception cref="NatEmException">The options are invalid or do not fit the model (a usage error).</exception>
    public Translator(ITranslationModel model, ISubwordTokenizer tokenizer, TranslationOptions? options = null, ITranslationModel? rescorer = null)
    {
        options ??= new TranslationOptions();
        Generator = Generators.Create(model, options, rescorer);
        this.tokenizer = tokenizer;
        Options = options;
        Rescorer = rescorer;
    }

    /// <summary>A translator with a loaded model directory's model and tokenizer.</summary>
    public static Translator For(LoadedModel model, TranslationOptions? options = null, ITranslationModel? rescorer = null) =>
        new(model.Model, model.Tokenizer, options, rescorer);

    private Translator(Translator other, TranslationOptions options)
    {
        Generator = other.Generator;
        tokenizer = other.tokenizer;
        Options = options;
        Rescorer = other.Rescorer;
    }

    public IGenerator Generator { get; }
    public TranslationOptions Options { get; }
    public ITranslationModel Model => Generator.Model;
    /// <summary>The AR model that re-scores NAR length candidates, if any.</summary>
    public ITranslationModel? Rescorer { get; }

    /// <summary>The same model, tokenizer and re-scorer with other options (validated anew).</summary>
    public Translator With(TranslationOptions options) => new(Model, tokenizer, options, Rescorer);

    /// <summary>
    /// The same generator with another batch size. Unlike --batch-size, a batch size set here is not checked against
    /// the memory budget: batches that would need more are split anyway.
    /// </summary>
    public Translator WithBatchSize(int batchSize) =>
        batchSize >= 1 ? new(this, Options with { BatchSize = batchSize }) : throw new ArgumentOutOfRangeException(nameof(batchSize));

    /// <summary>Called once per input truncated to MaxInputTokens, with its 0-based index.</summary>
    public event Action<int, int>? Truncated;

    public Translation[] Translate(IReadOnlyList<string> lines) => TranslateIds(Encode(lines));

    /// <summary>Lines read ahead by <see cref="TranslateStream"/> before it translates them: batches are sorted by length within such a window.</summary>
    public const int StreamWindowLines = 4096;

    /// <summary>
    /// <see cref="Translate"/> of a stream of lines (a file or stdin of any length) in windows of
    /// <see cref="StreamWindowLines"/>, so that memory does not grow with the input; results come in input order.
    /// </summary>
    public IEnumerable<Translation> TranslateStream(IEnumerable<string> lines)
    {
        var window = new List<string>(StreamWindowLines);
        int first = 0;
        foreach (var line in lines)
        {
            window.Add(line);
            if (window.Count < StreamWindowLines) continue;
            foreach (var translation in TranslateIds(Encode(window, first))) yield return translation;
            first += window.Count;
            window.Clear();
        }
        foreach (var translation in TranslateIds(Encode(window, first))) yield return translation;
    }

    /// <summary>Normalized, subword-encoded lines, each truncated to MaxInputTokens; <see cref="Truncated"/> counts indices from <paramref name="firstIndex"/>.</summary>
    public int[][] Encode(IReadOnlyList<string> lines, int firstIndex = 0)
    {
        var sources = new int[lines.Count][];
        for (int i = 0; i < lines.Count; i++)
        {
            var ids = tokenizer.Encode(TextNormalizer.Normalize(lines[i]));
            if (ids.Length > Options.MaxInputTokens)
            {
                Truncated?.Invoke(firstIndex + i, ids.Length);
                ids = ids[..Options.MaxInputTokens];
            }
            sources[i] = ids;
        }
        return sources;
    }

    /// <summary>Decodes token-id sources; output order equals input order. Progress counts sources decoded, from (0, total).</summary>
    public Translation[] TranslateIds(IReadOnlyList<int[]> sources, IProgress<(int Done, int Total)>? progress = null)
    {
        var results = new Translation[sources.Count];
        var order = Enumerable.Range(0, sources.Count).Where(i => sources[i].Length > 0).OrderBy(i => sources[i].Length).ToArray();
        foreach (var i in Enumerable.Range(0, sources.Count).Where(i => sources[i].Length == 0))
            results[i] = new Translation("", 0, [], [("", 0)]);
        int done = sources.Count - order.Length;
        progress?.Report((done, sources.Count));
        foreach (var chunk in Batches(order, sources))
        {
            var decoded = Generator.Generate(chunk.Select(i => sources[i]).ToList());
            for (int j = 0; j < chunk.Length; j++) results[chunk[j]] = ToTranslation(decoded[j]);
            progress?.Report((done += chunk.Length, sources.Count));
        }
        return results;
    }

    /// <summary>Consecutive runs of the length-sorted inputs, each at most BatchSize long and within the memory budget.</summary>
    private IEnumerable<int[]> Batches(int[] sortedByLength, IReadOnlyList<int[]> sources)
    {
        var batch = new List<int>();
        int width = Generator.Width.Value;
        foreach (var i in sortedByLength)
        {
            // Sorted ascending, so the newest input is the batch's longest.
            if (batch.Count > 0 && (batch.Count == Options.BatchSize
                    || Generator.BatchBytes(batch.Count + 1, width, sources[i].Length) > Options.MemoryBudgetBytes))
            {
                yield return [.. batch];
                batch.Clear();
            }
            batch.Add(i);
        }
        if (batch.Count > 0) yield return [.. batch];
    }

    private Translation ToTranslation(Generation generation)
    {
        var best = generation.Hypotheses[0];
        return new Translation(Detokenize(best.Tokens), best.Score, best.Tokens,
            generation.Hypotheses.Select(h => (Detokenize(h.Tokens), h.Score)).ToList(), generation.RawTokens, generation.PredictedLength);
    }

    private string Detokenize(int[] tokens) => tokenizer.Decode(tokens);
}
