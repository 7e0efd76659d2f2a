using System.CommandLine;
using NatEm.Decoding;
using NatEm.Modeling;
using TorchSharp;

namespace NatEm.Cli;

/// <summary>
/// The decoding options shared by `translate` and `eval`. The model kind comes from the model directory, so
/// options of the other kind are rejected rather than silently ignored.
/// </summary>
public sealed class DecodingOptionsBinder
{
    private static readonly TranslationOptions Defaults = new();

    public readonly Option<string> Model = new("--model") { Description = "Model directory (a checkpoint, an EM model or an averaged model), or a run directory: its checkpoint_best (else checkpoint_last)", Required = true };
    public readonly Option<int?> Beam = new("--beam") { Description = $"AR only: beam size, 1 = greedy (default {Defaults.Beam.Beam})" };
    public readonly Option<double?> LengthPenalty = new("--length-penalty") { Description = $"AR only: rank hypotheses by log-prob / length^P (default {Defaults.Beam.LengthPenalty})" };
    public readonly Option<string?> Decoder = new("--decoder") { Description = $"NAR only: argmax, dedup or odd (default {Defaults.Nar.Decoder.ToString().ToLowerInvariant()})" };
    public readonly Option<int?> LengthBeam = new("--length-beam") { Description = $"NAR only: most likely target lengths decoded per sentence (default {Defaults.Nar.LengthBeam})" };
    public readonly Option<string?> Rescore = new("--rescore") { Description = "NAR only: AR model directory that picks the best length candidate (use with --length-beam)" };
    public readonly Option<int?> BatchSize = new("--batch-size") { Description = $"Sentences decoded together (default {Defaults.BatchSize})" };
    public readonly Option<int?> MaxInputTokens = new("--max-input-tokens") { Description = $"Longer inputs are truncated, with a warning (default {Defaults.MaxInputTokens})" };
    public readonly Option<int?> Threads = new("--threads") { Description = "libtorch threads (default: all cores)" };
    public readonly Option<Precision?> Precision = PrecisionOption.ForInference();

    /// <summary>Options that only the command adds (like translate's --nbest) but that are AR-only too.</summary>
    private readonly Option[] _extraArOnly;

    public DecodingOptionsBinder(params Option[] extraArOnly)
    {
        Decoder.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } name && !Enum.GetNames<NarDecoder>().Contains(name, StringComparer.OrdinalIgnoreCase))
                result.AddError($"--decoder must be argmax, dedup or odd, not '{name}'");
        });
        _extraArOnly = extraArOnly;
    }

    private IEnumerable<Option> ArOnly => [Beam, LengthPenalty, .. _extraArOnly];
    private IEnumerable<Option> NarOnly => [Decoder, LengthBeam, Rescore];

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Beam, LengthPenalty, Decoder, LengthBeam, Rescore, BatchSize, MaxInputTokens, Threads, Precision })
            command.Options.Add(option);
    }

    /// <summary>Loads the model (and the re-scorer), checks the options fit its kind and returns the translator with its options.</summary>
    public (Translator Translator, TranslationOptions Options) Bind(ParseResult p, int nBest = 1)
    {
        var modelDir = ModelArguments.Resolve(p, p.GetValue(Model)!);
        var kind = ModelStore.ReadManifest(modelDir).Kind;
        bool nar = kind == ModelKind.NonAutoregressive;
        var misplaced = (nar ? ArOnly : NarOnly).Where(option => p.GetResult(option) is { Implicit: false }).Select(o => o.Name).ToList();
        if (misplaced.Count > 0)
            throw NatEmException.In(modelDir, $"is {ModelStore.DescribeWithArticle(kind)} model, so {string.Join(", ", misplaced)} does not apply; "
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
                Decoder = p.GetValue(Decoder) is { } decoder ? Enum.Parse<NarDecoder>(decoder, ignoreCase: true) : Defaults.Nar.Decoder,
                LengthBeam = p.GetValue(LengthBeam) ?? Defaults.Nar.LengthBeam,
            },
            BatchSize = p.GetValue(BatchSize) ?? Defaults.BatchSize,
            MaxInputTokens = p.GetValue(MaxInputTokens) ?? Defaults.MaxInputTokens,
        };
        options.Validate();
        if (p.GetValue(Threads) is { } threads)
        {
            if (threads < 1) throw new NatEmException("--threads must be at least 1", ExitCodes.Usage);
            torch.set_num_threads(threads);
        }
        var precision = PrecisionOption.Resolve(p.GetValue(Precision));
        var model = ModelStore.Load(modelDir, kind);
        model.Model.FreezeForInference(precision);
        var rescorer = LoadRescorer(ModelArguments.ResolveOptional(p, p.GetValue(Rescore)), model);
        rescorer?.FreezeForInference(precision);
        return (new Translator(model, rescorer), options);
    }

    private static ArTransformer? LoadRescorer(string? dir, LoadedModel model)
    {
        if (dir is null) return null;
        var rescorer = (ArTransformer)ModelStore.LoadModel(dir, ModelKind.Autoregressive);
        // Token ids are only comparable under one vocabulary.
        if (rescorer.Config.VocabSize != model.Manifest.Config.VocabSize)
            throw NatEmException.In(dir, $"--rescore model has a vocabulary of {rescorer.Config.VocabSize} tokens but {model.Directory} has {model.Manifest.Config.VocabSize}; both must come from the same prepared data", ExitCodes.Usage);
        return rescorer;
    }
}
