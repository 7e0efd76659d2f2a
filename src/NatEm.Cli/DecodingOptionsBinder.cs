using System.CommandLine;
using NatEm.Decoding;
using NatEm.Modeling;

namespace NatEm.Cli;

/// <summary>
/// The decoding options shared by `translate`, `eval` and `serve`, with the runtime options. The options given are
/// passed on as <see cref="TranslationOptions.Given"/>, so that options of the model's other kind are rejected rather
/// than silently ignored; all of them are checked once, by the translator built from them (<see cref="Generators.Create"/>).
/// </summary>
public sealed class DecodingOptionsBinder
{
    public readonly Option<string> Model = SharedOptions.Model();
    private readonly RecordOptions<TranslationOptions> _flags = new(new TranslationOptions());
    public readonly Option<int?> Beam, LengthBeam, BatchSize, MaxInputTokens;
    public readonly Option<double?> LengthPenalty;
    public readonly Option<NarDecoder?> Decoder;
    public readonly Option<string?> Rescore = new("--rescore") { Description = "NAR only: AR model directory that picks the best length candidate (use with --length-beam)" };
    public readonly RuntimeOptionsBinder Runtime = new();

    private readonly bool _withBatchSize;

    /// <param name="withBatchSize">False for `serve`, whose batches are formed by --max-batch-tokens.</param>
    public DecodingOptionsBinder(bool withBatchSize = true)
    {
        _withBatchSize = withBatchSize;
        Beam = _flags.Add("--beam", "AR only: beam size, 1 = greedy", o => o.Beam.Beam, (o, v) => o with { Beam = o.Beam with { Beam = v } });
        LengthPenalty = _flags.Add("--length-penalty", "AR only: rank hypotheses by log-prob / length^P", o => o.Beam.LengthPenalty, (o, v) => o with { Beam = o.Beam with { LengthPenalty = v } });
        Decoder = _flags.Add(EnumOptions.Create<NarDecoder>("--decoder", "NAR only: how tokens are chosen at each position; CTC models always collapse their argmax"),
            o => o.Nar.Decoder, (o, v) => o with { Nar = o.Nar with { Decoder = v } });
        LengthBeam = _flags.Add("--length-beam", "NAR only: most likely target lengths decoded per sentence; CTC models: outputs kept by a prefix beam search",
            o => o.Nar.LengthBeam, (o, v) => o with { Nar = o.Nar with { LengthBeam = v } });
        BatchSize = _flags.Add("--batch-size", "Sentences decoded together", o => o.BatchSize, (o, v) => o with { BatchSize = v });
        MaxInputTokens = _flags.Add("--max-input-tokens", "Longer inputs are truncated, with a warning", o => o.MaxInputTokens, (o, v) => o with { MaxInputTokens = v });
    }

    public IEnumerable<Option> All => [Model, Beam, LengthPenalty, Decoder, LengthBeam, Rescore, .. _withBatchSize ? [BatchSize] : Array.Empty<Option>(), MaxInputTokens, .. Runtime.All];

    /// <summary>
    /// Loads the model (and the re-scorer) in the chosen precision and returns the options with their defaults filled
    /// in; the option-kind rule is applied before the re-scorer is loaded, the other checks by the translator.
    /// </summary>
    /// <param name="nBest">The command's --nbest, if given (translate).</param>
    public DecodingChoice Load(ParseResult p, int? nBest = null)
    {
        var runtime = Runtime.Bind(p);
        var model = ModelStore.Load(ModelArguments.Resolve(p, p.GetValue(Model)!));

        var options = _flags.Apply(p);
        options = options with
        {
            Beam = options.Beam with { NBest = nBest ?? options.Beam.NBest },
            Given = Given(p) | (nBest is null ? KindOptions.None : KindOptions.NBest),
        };
        Generators.RequireSuits(model.Model, options, model.Directory);
        model.Model.FreezeForInference(runtime.ResolvedPrecision);
        var rescorer = LoadRescorer(ModelArguments.ResolveOptional(p, p.GetValue(Rescore)), model);
        rescorer?.FreezeForInference(runtime.ResolvedPrecision);
        return new DecodingChoice(model, rescorer, options);
    }

    /// <summary><see cref="Load"/>, then the translator, which checks the options against the model.</summary>
    public (Translator Translator, LoadedModel Model) Bind(ParseResult p, int? nBest = null)
    {
        var choice = Load(p, nBest);
        return (choice.CreateTranslator(), choice.Model);
    }

    /// <summary>The options of one model kind given on the command line.</summary>
    private KindOptions Given(ParseResult p) =>
        new (Option Option, KindOptions Flag)[]
        {
            (Beam, KindOptions.Beam), (LengthPenalty, KindOptions.LengthPenalty),
            (Decoder, KindOptions.Decoder), (LengthBeam, KindOptions.LengthBeam), (Rescore, KindOptions.Rescore),
        }.Where(o => p.GetResult(o.Option) is { Implicit: false }).Aggregate(KindOptions.None, (given, o) => given | o.Flag);

    private static ITranslationModel? LoadRescorer(string? dir, LoadedModel model)
    {
        if (dir is null) return null;
        var manifest = ModelStore.ReadManifest(dir, ModelKind.Autoregressive);
        manifest.Tokenizer.RequireSameVocabulary(model.Manifest.Tokenizer, dir, "the --rescore model", $"the model {model.Directory}");
        return ModelStore.LoadModel(dir, manifest);
    }
}

/// <summary>A loaded model, its re-scorer if any, and the decoding options chosen on the command line.</summary>
public sealed record DecodingChoice(LoadedModel Model, ITranslationModel? Rescorer, TranslationOptions Options)
{
    public Translator CreateTranslator() => Translator.For(Model, Options, Rescorer);
}
