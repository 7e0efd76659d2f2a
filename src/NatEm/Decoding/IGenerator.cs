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

/// <summary>
/// What a generator gives for one source: hypotheses, best first (AR beam search: up to NBest; NAR: the chosen
/// length candidate). NAR generators also give the raw argmax at the chosen length (before de-duplication) and that length.
/// </summary>
public sealed record Generation(IReadOnlyList<Hypothesis> Hypotheses, int[]? RawTokens = null, int? PredictedLength = null);

/// <summary>Chooses the generator for a model (fairseq's build_generator): the one place that looks at the model's kind.</summary>
public static class Generators
{
    /// <summary>
    /// Beam search (greedy at beam 1) for an AR model, parallel decoding for a NAR model (<see cref="CtcGenerator"/>
    /// for one trained with CTC), re-scored by
    /// <paramref name="rescorer"/> when one is given. Every option is checked here, once: its range, the model's
    /// positions, and that one input of MaxInputTokens tokens and a batch of BatchSize one-token inputs fit the memory budget.
    /// </summary>
    /// <exception cref="NatEmException">An option is out of range, or does not fit the model or the memory budget (a usage error).</exception>
    public static IGenerator Create(ITranslationModel model, TranslationOptions options, ITranslationModel? rescorer = null)
    {
        options.Validate();
        IGenerator generator = (model, rescorer) switch
        {
            (ArTransformer ar, null) => new BeamSearch(ar, options.Beam),
            (ArTransformer, not null) => throw new NatEmException("--rescore applies to non-autoregressive models only", ExitCodes.Usage),
            (NarTransformer { IsCtc: true } ctc, null or ArTransformer) => new CtcGenerator(ctc, options.Nar, rescorer as ArTransformer),
            (NarTransformer nar, null or ArTransformer) => new NarGenerator(nar, options.Nar, rescorer as ArTransformer),
            (NarTransformer, not null) => throw new NatEmException("--rescore needs an autoregressive model", ExitCodes.Usage),
            _ => throw new NotSupportedException(model.GetType().Name),
        };
        RequireFits(generator, options);
        return generator;
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
