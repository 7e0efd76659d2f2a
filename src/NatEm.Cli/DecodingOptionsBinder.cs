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
    private static readonly TranslationOptions Defaults = new();

    public readonly Option<string> Model = new("--model") { Description = "Model directory (a checkpoint, an EM model or an averaged model), or a run directory: its checkpoint_best (else checkpoint_last)", Required = true };
    public readonly Option<int?> Beam = new("--beam") { Description = $"AR only: beam size, 1 = greedy (default {Defaults.Beam.Beam})" };
    public readonly Option<double?> LengthPenalty = new("--length-penalty") { Description = $"AR only: rank hypotheses by log-prob / length^P (default {Defaults.Beam.LengthPenalty})" };
    public readonly Option<NarDecoder?> Decoder = EnumOptions.Create<NarDecoder>("--decoder", $"NAR only: how tokens are chosen at each position; CTC models always collapse their argmax (default {Defaults.Nar.Decoder})");
    public readonly Option<int?> LengthBeam = new("--length-beam") { Description = $"NAR only: most likely target lengths decoded per sentence; CTC models: outputs kept by a prefix beam search (default {Defaults.Nar.LengthBeam})" };
    public readonly Option<string?> Rescore = new("--rescore") { Description = "NAR only: AR model directory that picks the best length candidate (use with --length-beam)" };
    public readonly Option<int?> BatchSize = new("--batch-size") { Description = $"Sentences decoded together (default {Defaults.BatchSize})" };
    public readonly Option<int?> MaxInputTokens = new("--max-input-tokens") { Description = $"Longer inputs are truncated, with a warning (default {Defaults.MaxInputTokens})" };
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
    }

    private IEnumerable<Option> ArOnly => [Beam, LengthPenalty, .. _extraArOnly];
    private IEnumerable<Option> NarOnly => [Decoder, LengthBeam, Rescore];

    public void AddTo(Command command)
    {
        Option[] batching = _withBatchSize ? [BatchSize, MaxInputTokens] : [MaxInputTokens];
        Option[] all = [Model, Beam, LengthPenalty, Decoder, LengthBeam, Rescore, .. batching];
        foreach (var option in all) command.Options.Add(option);
        Runtime.AddTo(command);
    }

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

        var options = Defaults with
        {
            Beam = Defaults.Beam with
            {
                Beam = p.GetValue(Beam) ?? Defaults.Beam.Beam,
                LengthPenalty = p.GetValue(LengthPenalty) ?? Defaults.Beam.LengthPenalty,
                NBest = nBest,
            },
            Nar = Defaults.Nar with
            {
                Decoder = p.GetValue(Decoder) ?? Defaults.Nar.Decoder,
                LengthBeam = p.GetValue(LengthBeam) ?? Defaults.Nar.LengthBeam,
            },
            BatchSize = p.GetValue(BatchSize) ?? Defaults.BatchSize,
            MaxInputTokens = p.GetValue(MaxInputTokens) ?? Defaults.MaxInputTokens,
        };
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
