using System.Text.Json;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Text;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>The model.json of a model directory: everything needed to rebuild the model without flags.</summary>
public sealed record ModelManifest
{
    public int FormatVersion { get; init; } = ModelStore.FormatVersion;
    public ModelKind Kind { get; init; }
    public required TransformerConfig Config { get; init; }
    /// <summary>The tokenizer whose files sit beside model.json.</summary>
    public required TokenizerInfo Tokenizer { get; init; }
    /// <summary>Resolved training options and provenance (free-form; informative only).</summary>
    public JsonObject? Training { get; init; }
}

/// <summary>
/// A model directory: <c>model.json</c> (format version, kind, architecture, tokenizer), <c>weights.bin</c>
/// (TorchSharp state) and the tokenizer's files. Every file is written atomically.
/// </summary>
public static class ModelStore
{
    public const int FormatVersion = 1;
    public const string ManifestFile = "model.json", WeightsFile = "weights.bin";

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void SaveWeights(string dir, ITranslationModel model) =>
        AtomicFile.Write(Path.Combine(dir, WeightsFile), s =>
        {
            using var writer = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            model.Module.save(writer);
        });

    public static void SaveManifest(string dir, ModelManifest manifest) =>
        AtomicFile.WriteAllText(Path.Combine(dir, ManifestFile), JsonSerializer.Serialize(manifest, Json));

    /// <summary>Copies the tokenizer's files from <paramref name="sourceDir"/> into the model directory.</summary>
    public static void SaveTokenizer(string dir, string sourceDir, TokenizerInfo tokenizer)
    {
        foreach (var file in tokenizer.Files)
            AtomicFile.WriteAllBytes(Path.Combine(dir, file), File.ReadAllBytes(Path.Combine(sourceDir, file)));
    }

    /// <summary>A model directory loaded whole: manifest, model with weights, tokenizer.</summary>
    public static LoadedModel Load(string dir, ModelKind? expectedKind = null)
    {
        var manifest = ReadManifest(dir);
        var model = LoadModel(dir, expectedKind);
        var tokenizer = LoadTokenizer(dir, manifest.Tokenizer.Kind);
        if (tokenizer.VocabSize != manifest.Config.VocabSize)
            throw NatEmException.In(Path.Combine(dir, ManifestFile), $"tokenizer has {tokenizer.VocabSize} tokens but the model expects {manifest.Config.VocabSize}", ExitCodes.BadModel);
        return new LoadedModel(dir, manifest, model, tokenizer);
    }

    public static ModelManifest ReadManifest(string dir)
    {
        var path = Path.Combine(dir, ManifestFile);
        if (!Directory.Exists(dir)) throw NatEmException.In(dir, "model directory not found", ExitCodes.BadModel);
        if (!File.Exists(path)) throw NatEmException.In(path, "missing: not a NatEm model directory", ExitCodes.BadModel);
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw NatEmException.At(path, (e.LineNumber ?? 0) + 1, $"invalid model manifest: {e.Message}", ExitCodes.BadModel);
        }
        if (manifest is null) throw NatEmException.In(path, "empty model manifest", ExitCodes.BadModel);
        if (manifest.FormatVersion > FormatVersion)
            throw NatEmException.In(path, $"format_version {manifest.FormatVersion} is newer than this NatEm supports ({FormatVersion}); upgrade NatEm", ExitCodes.BadModel);
        if (manifest.FormatVersion < 1)
            throw NatEmException.In(path, $"invalid format_version {manifest.FormatVersion}", ExitCodes.BadModel);
        try
        {
            manifest.Config.Validate();
        }
        catch (NatEmException e)
        {
            throw NatEmException.In(path, e.Message, ExitCodes.BadModel);
        }
        return manifest;
    }

    /// <summary>The tokenizer beside model.json; its files belong to the model, so a bad one is a BadModel error.</summary>
    private static ISubwordTokenizer LoadTokenizer(string dir, string kind)
    {
        try
        {
            return TokenizerFiles.Load(dir, kind);
        }
        catch (NatEmException e) when (e.ExitCode != ExitCodes.BadModel)
        {
            throw new NatEmException(e.Message, ExitCodes.BadModel, e);
        }
    }

    /// <summary>Builds the model described by <c>model.json</c> and loads its weights.</summary>
    public static ITranslationModel LoadModel(string dir, ModelKind? expectedKind = null)
    {
        var manifest = ReadManifest(dir);
        if (expectedKind is { } kind && manifest.Kind != kind)
            throw NatEmException.In(Path.Combine(dir, ManifestFile),
                $"this is a {Describe(manifest.Kind)} model, but the command needs a {Describe(kind)} model", ExitCodes.BadModel);
        var model = TranslationModels.Create(manifest.Kind, manifest.Config);
        LoadWeights(dir, model);
        return model;
    }

    public static void LoadWeights(string dir, ITranslationModel model)
    {
        var path = Path.Combine(dir, WeightsFile);
        if (!File.Exists(path)) throw NatEmException.In(path, "missing model weights", ExitCodes.BadModel);
        try
        {
            model.Module.load(path, strict: true);
        }
        catch (Exception e) when (e is not NatEmException)
        {
            throw NatEmException.In(path, $"unreadable or truncated weights ({e.Message.Split('\n')[0]})", ExitCodes.BadModel);
        }
    }

    public static string Describe(ModelKind kind) => kind == ModelKind.Autoregressive ? "autoregressive (AR)" : "non-autoregressive (NAR)";
}

public sealed record LoadedModel(string Directory, ModelManifest Manifest, ITranslationModel Model, ISubwordTokenizer Tokenizer);
