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

    private readonly bool _withBatchSize;

    /// <param name="withBatchSize">False for `serve`, whose batches are formed by --max-batch-tokens.</param>
    public DecodingOptionsBinder(bool withBatchSize = true)
    {
        _withBatchSize = withBatchSize;
    }

    public void AddTo(Command command)
    {
        Option[] batching = _withBatchSize ? [BatchSize, MaxInputTokens] : [MaxInputTokens];
        Option[] all = [Model, Beam, LengthPenalty, Decoder, LengthBeam, Rescore, .. batching];
        foreach (var option in all) command.Options.Add(option);
        Runtime.AddTo(command);
    }

    /// <summary>
    /// Loads the model (and the re-scorer) in the chosen precision and returns the options with their defaults filled
    /// in; the option-kind rule is applied before the re-scorer is loaded, the other checks by the translator.
    /// </summary>
    /// <param name="nBest">The command's --nbest, if given (translate).</param>
    public DecodingChoice Load(ParseResult p, int? nBest = null)
    {
        var runtime = Runtime.Bind(p);
        var model = ModelStore.Load(ModelArguments.Resolve(p, p.GetValue(Model)!));

        var options = Defaults with
        {
            Beam = Defaults.Beam with
            {
                Beam = p.GetValue(Beam) ?? Defaults.Beam.Beam,
                LengthPenalty = p.GetValue(LengthPenalty) ?? Defaults.Beam.LengthPenalty,
                NBest = nBest ?? Defaults.Beam.NBest,
            },
            Nar = Defaults.Nar with
            {
                Decoder = p.GetValue(Decoder) ?? Defaults.Nar.Decoder,
                LengthBeam = p.GetValue(LengthBeam) ?? Defaults.Nar.LengthBeam,
            },
            BatchSize = p.GetValue(BatchSize) ?? Defaults.BatchSize,
            MaxInputTokens = p.GetValue(MaxInputTokens) ?? Defaults.MaxInputTokens,
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
