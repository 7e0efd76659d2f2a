using System.CommandLine;
using NatEm.Decoding;
using NatEm.Modeling;

namespace NatEm.Cli;

/// <summary>
/// The decoding options shared by `translate`, `eval` and `serve`, with the runtime options. The model kind comes from
/// the model directory, so options of the other kind are rejected rather than silently ignored. The options themselves
/// are checked once, by the translator built from them (<see cref="Generators.Create"/>).
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

    /// <summary>Options that only the command adds (like translate's --nbest) but that are AR-only too.</summary>
    private readonly Option[] _extraArOnly;
    private readonly bool _withBatchSize;

    /// <param name="withBatchSize">False for `serve`, whose batches are formed by --max-batch-tokens.</param>
    /// <param name="extraArOnly">The command's own AR-only options.</param>
    public DecodingOptionsBinder(bool withBatchSize = true, params Option[] extraArOnly)
    {
        _withBatchSize = withBatchSize;
        _extraArOnly = extraArOnly;
        Beam = _flags.Add("--beam", "AR only: beam size, 1 = greedy", o => o.Beam.Beam, (o, v) => o with { Beam = o.Beam with { Beam = v } });
        LengthPenalty = _flags.Add("--length-penalty", "AR only: rank hypotheses by log-prob / length^P", o => o.Beam.LengthPenalty, (o, v) => o with { Beam = o.Beam with { LengthPenalty = v } });
        Decoder = _flags.Add(EnumOptions.Create<NarDecoder>("--decoder", "NAR only: how tokens are chosen at each position; CTC models always collapse their argmax"),
            o => o.Nar.Decoder, (o, v) => o with { Nar = o.Nar with { Decoder = v } });
        LengthBeam = _flags.Add("--length-beam", "NAR only: most likely target lengths decoded per sentence; CTC models: outputs kept by a prefix beam search",
            o => o.Nar.LengthBeam, (o, v) => o with { Nar = o.Nar with { LengthBeam = v } });
        BatchSize = _flags.Add("--batch-size", "Sentences decoded together", o => o.BatchSize, (o, v) => o with { BatchSize = v });
        MaxInputTokens = _flags.Add("--max-input-tokens", "Longer inputs are truncated, with a warning", o => o.MaxInputTokens, (o, v) => o with { MaxInputTokens = v });
    }

    private IEnumerable<Option> ArOnly => [Beam, LengthPenalty, .. _extraArOnly];
    private IEnumerable<Option> NarOnly => [Decoder, LengthBeam, Rescore];

    public IEnumerable<Option> All => [Model, Beam, LengthPenalty, Decoder, LengthBeam, Rescore, .. _withBatchSize ? [BatchSize] : Array.Empty<Option>(), MaxInputTokens, .. Runtime.All];

    /// <summary>
    /// Loads the model (and the re-scorer) in the chosen precision, checks that the options given suit its kind and
    /// returns them with the options' defaults filled in; not yet checked against the model (the translator does that).
    /// </summary>
    public DecodingChoice Load(ParseResult p, int nBest = 1)
    {
        var runtime = Runtime.Bind(p);
        var model = ModelStore.Load(ModelArguments.Resolve(p, p.GetValue(Model)!));
        var kind = model.Manifest.Kind;
        bool nar = kind == ModelKind.NonAutoregressive;
        var misplaced = (nar ? ArOnly : NarOnly).Where(option => p.GetResult(option) is { Implicit: false }).Select(o => o.Name).ToList();
        if (misplaced.Count > 0)
            throw NatEmException.In(model.Directory, $"is {ModelStore.DescribeWithArticle(kind)} model, so {string.Join(", ", misplaced)} does not apply; "
                + (nar ? "use --decoder, --length-beam or --rescore, or give an AR model" : "use --beam, --length-penalty or --nbest, or give a NAR model"), ExitCodes.Usage);

        var options = _flags.Apply(p);
        options = options with { Beam = options.Beam with { NBest = nBest } };
        model.Model.FreezeForInference(runtime.ResolvedPrecision);
        var rescorer = LoadRescorer(ModelArguments.ResolveOptional(p, p.GetValue(Rescore)), model);
        rescorer?.FreezeForInference(runtime.ResolvedPrecision);
        return new DecodingChoice(model, rescorer, options);
    }

    /// <summary><see cref="Load"/>, then the translator, which checks the options against the model.</summary>
    public (Translator Translator, LoadedModel Model) Bind(ParseResult p, int nBest = 1)
    {
        var choice = Load(p, nBest);
        return (choice.CreateTranslator(), choice.Model);
    }

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
