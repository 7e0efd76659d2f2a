using System.Text.Json.Nodes;
using NatEm.Modeling;

namespace NatEm.Decoding;

/// <summary>
/// A search strategy bound to one model and to options it has validated: AR beam search (<see cref="BeamSearch"/>)
/// or NAR parallel decoding (<see cref="NarGenerator"/>, <see cref="CtcGenerator"/>). <see cref="Generators.Create"/> picks one for a model, once;
/// code that decodes goes through this contract and never asks which kind of model it holds.
/// </summary>
public interface IGenerator
{
    ITranslationModel Model { get; }

    /// <summary>How many candidates are searched per sentence, and the option that sets it (--beam or --length-beam).</summary>
    SearchWidth Width { get; }

    /// <summary>Whether its generations give <see cref="Generation.RawTokens"/> and <see cref="Generation.PredictedLength"/>,
    /// from which the repetition and length diagnostics are computed: the NAR generators do (<see cref="NarGenerator"/> the
    /// raw argmax before de-duplication, <see cref="CtcGenerator"/> the output after collapse), beam search does not.</summary>
    bool GivesRawTokens { get; }

    /// <summary>The options that shape its output, as serve reports them: as JSON in /v1/models ({"beam": 4}; {"decoder": "odd",
    /// "length_beam": 1}; a CTC model's {"decoder": "ctc", "length_beam": 1}) and as a phrase for the page ("beam 4";
    /// "odd, length beam 1"; "ctc, length beam 1"), and a NAR generator's decoder by name.</summary>
    DecodingDescription DescribeOptions();

    /// <summary>Decodes one batch of non-empty token-id sources; one result per source, in input order.</summary>
    Generation[] Generate(IReadOnlyList<int[]> sources);

    /// <summary>The <see cref="DecodingMemory"/> estimate of decoding <paramref name="sentences"/> sources of up to
    /// <paramref name="sourceLength"/> tokens at search width <paramref name="width"/>.</summary>
    long BatchBytes(int sentences, int width, int sourceLength);

    /// <summary>The arithmetic and memory traffic of decoding one sentence of these mean lengths (<see cref="DecoderCost"/>).</summary>
    WorkCost Cost(double sourceTokens, double targetTokens);
}

/// <summary>A generator's search width: --beam of AR beam search, --length-beam of NAR decoding.</summary>
public readonly record struct SearchWidth(string Option, int Value);

/// <summary>The options that shape a generator's output (<see cref="IGenerator.DescribeOptions"/>).</summary>
/// <param name="Json">As /v1/models reports them, a new object at each call.</param>
/// <param name="Phrase">As the page shows them.</param>
/// <param name="Decoder">The decoder a NAR generator applies ("odd", "argmax", "dedup"; a CTC model's "ctc"), the
/// JSON's "decoder"; null for beam search.</param>
public sealed record DecodingDescription(JsonObject Json, string Phrase, string? Decoder = null);

/// <summary>
/// What a generator gives for one source; the tokens and length the diagnostics read come from the NAR generators
/// only (null from beam search).
/// </summary>
/// <param name="Hypotheses">Best first (AR beam search: up to NBest; NAR: the chosen length candidate first).</param>
/// <param name="RawTokens">The tokens whose adjacent repeats the repetition diagnostic counts.
/// A length model's (<see cref="NarGenerator"/>): the raw argmax at the chosen length, before de-duplication.
/// A CTC model's (<see cref="CtcGenerator"/>): the chosen output after collapse, whose repeats ("a _ a" → "a a") are printed, unlike the frame repeats collapse merges.</param>
/// <param name="PredictedLength">The length the length diagnostic compares with the reference's.
/// A length model's: the chosen target length, from its length classifier.
/// A CTC model's: the length of the chosen output after collapse.</param>
public sealed record Generation(IReadOnlyList<Hypothesis> Hypotheses, int[]? RawTokens = null, int? PredictedLength = null);

/// <summary>
/// Chooses the generator for a model (fairseq's build_generator): the one place that looks at a decoded model's kind,
/// and so the one home of the rule that decoding options of the other kind are errors.
/// </summary>
public static class Generators
{
    private const KindOptions ArOptions = KindOptions.Beam | KindOptions.LengthPenalty | KindOptions.NBest;
    private const KindOptions NarOptions = KindOptions.Decoder | KindOptions.LengthBeam | KindOptions.Rescore;

    /// <summary>The kind-specific options as the command line names them, in the order errors list them.</summary>
    private static readonly (KindOptions Option, string Name)[] OptionNames =
    [
        (KindOptions.Beam, "--beam"), (KindOptions.LengthPenalty, "--length-penalty"), (KindOptions.NBest, "--nbest"),
        (KindOptions.Decoder, "--decoder"), (KindOptions.LengthBeam, "--length-beam"), (KindOptions.Rescore, "--rescore"),
    ];

    /// <summary>
    /// Beam search (greedy at beam 1) for an AR model, parallel decoding for a NAR model (<see cref="CtcGenerator"/>
    /// for one trained with CTC), re-scored by
    /// <paramref name="rescorer"/> when one is given. Every option is checked here, once: that it suits the model's kind
    /// (<see cref="RequireSuits"/>), its range, the model's
    /// positions, and that one input of MaxInputTokens tokens and a batch of BatchSize one-token inputs fit the memory budget.
    /// </summary>
    /// <exception cref="NatEmException">An option is out of range, or does not fit the model or the memory budget (a usage error).</exception>
    public static IGenerator Create(ITranslationModel model, TranslationOptions options, ITranslationModel? rescorer = null)
    {
        RequireSuits(model, rescorer is null ? options : options with { Given = options.Given | KindOptions.Rescore });
        options.Validate();
        IGenerator generator = (model, rescorer) switch
        {
            (ArTransformer ar, null) => new BeamSearch(ar, options.Beam),
            (NarTransformer { IsCtc: true } ctc, null or ArTransformer) => new CtcGenerator(ctc, options.Nar, rescorer as ArTransformer),
            (NarTransformer nar, null or ArTransformer) => new NarGenerator(nar, options.Nar, rescorer as ArTransformer),
            (NarTransformer, not null) => throw new NatEmException("--rescore needs an autoregressive model", ExitCodes.Usage),
            _ => throw new NotSupportedException(model.GetType().Name),
        };
        RequireFits(generator, options);
        return generator;
    }

    /// <summary>
    /// The option-kind rule: an option given for the other kind of model (<see cref="TranslationOptions.Given"/>) is a
    /// usage error, not silently ignored. <see cref="Create"/> applies it first; a command applies it before it loads
    /// what such an option names (the re-scorer), naming the model's directory in the error.
    /// </summary>
    /// <exception cref="NatEmException">An option of the other kind was given (a usage error).</exception>
    public static void RequireSuits(ITranslationModel model, TranslationOptions options, string? modelDirectory = null)
    {
        bool autoregressive = model is ArTransformer;
        var suits = autoregressive ? ArOptions : NarOptions;
        var misplaced = options.Given & ~suits;
        if (misplaced == KindOptions.None) return;
        var names = OptionNames.Where(o => suits.HasFlag(o.Option)).Select(o => o.Name).ToList();
        string problem = $"is {ModelStore.DescribeWithArticle(model.Kind)} model, so "
            + $"{string.Join(", ", OptionNames.Where(o => misplaced.HasFlag(o.Option)).Select(o => o.Name))} does not apply; "
            + $"use {string.Join(", ", names[..^1])} or {names[^1]}, or give {(autoregressive ? "a NAR" : "an AR")} model";
        throw modelDirectory is null ? new NatEmException("this " + problem, ExitCodes.Usage) : NatEmException.In(modelDirectory, problem, ExitCodes.Usage);
    }

    private static void RequireFits(IGenerator generator, TranslationOptions options)
    {
        int longestInput = generator.Model.Config.MaxPositions - 2;
        if (options.MaxInputTokens > longestInput)
            throw new NatEmException($"--max-input-tokens {options.MaxInputTokens} exceeds the {longestInput} source tokens the model's positions cover", ExitCodes.Usage);
        var (option, width) = generator.Width;
        DecodingMemory.Require(option, width, w => generator.BatchBytes(1, w, options.MaxInputTokens), options.MemoryBudgetBytes,
            $"for one input of {options.MaxInputTokens} tokens (--max-input-tokens)");
        DecodingMemory.Require("--batch-size", options.BatchSize, b => generator.BatchBytes(b, width, 1), options.MemoryBudgetBytes,
            $"even for one-token inputs at {option} {width}");
    }
}
