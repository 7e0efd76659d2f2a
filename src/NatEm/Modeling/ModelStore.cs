using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NatEm.Data;
using NatEm.IO;
using NatEm.Text;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// The element type of the parameters in <c>weights.bin</c>. Models always compute from float32 master weights
/// (or the precision chosen at load); a half-precision file only halves the download (CTranslate2's
/// <c>--quantization bfloat16</c>).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<WeightsDtype>))]
public enum WeightsDtype { Fp32, Bf16, Fp16 }

/// <summary>The file that holds a model directory's weights.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WeightsFormat>))]
public enum WeightsFormat
{
    /// <summary><c>weights.bin</c>, TorchSharp's <c>Module.save</c> format (every format version).</summary>
    TorchSharp,
    /// <summary><c>model.safetensors</c>, Hugging Face's safetensors, which PyTorch reads (format version 3).</summary>
    Safetensors,
}

/// <summary>The model.json of a model directory: everything needed to rebuild the model without flags.</summary>
public sealed record ModelManifest
{
    public int FormatVersion { get; init; } = ModelStore.FormatVersion;
    public ModelKind Kind { get; init; }
    /// <summary>How the weights file stores the parameters; absent in format 1 (always float32).</summary>
    public WeightsDtype WeightsDtype { get; init; } = WeightsDtype.Fp32;
    /// <summary>Which file holds the weights; absent (written only when not the default) before format 3: weights.bin.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public WeightsFormat WeightsFormat { get; init; } = WeightsFormat.TorchSharp;
    public required TransformerConfig Config { get; init; }
    /// <summary>The tokenizer whose files sit beside model.json.</summary>
    public required TokenizerInfo Tokenizer { get; init; }
    /// <summary>The language codes the model translates between (from the data manifest); absent in models trained before 2026-12-02.</summary>
    public LanguagePair? Languages { get; init; }
    /// <summary>Resolved training options and provenance (free-form; informative only).</summary>
    public JsonObject? Training { get; init; }
    /// <summary>SHA-256 of the weights file (hex), checked at load; absent in format version 1.</summary>
    public string? WeightsSha256 { get; init; }
}

/// <summary>
/// A model directory: <c>model.json</c> (format version, kind, architecture, tokenizer), the weights (<c>weights.bin</c>,
/// TorchSharp's state, or <c>model.safetensors</c>) and the tokenizer's files. Every file is written atomically.
/// </summary>
public static class ModelStore
{
    /// <summary>
    /// The newest format this NatEm reads. 2 added <see cref="ModelManifest.WeightsSha256"/> and
    /// <see cref="ModelManifest.WeightsDtype"/>; version 1 directories still load, unchecked, as float32. 3 added
    /// <see cref="ModelManifest.WeightsFormat"/> (<c>model.safetensors</c>). A directory is written with the oldest
    /// version that describes it (<see cref="FormatVersionOf"/>), so a weights.bin directory stays version 2 and
    /// still loads in the NatEm versions before 3, while those refuse a safetensors directory with an upgrade message.
    /// </summary>
    public const int FormatVersion = 3;
    public const string ManifestFile = "model.json", WeightsFile = "weights.bin", SafetensorsFile = "model.safetensors";

    /// <summary>The format version a directory whose weights are stored as <paramref name="format"/> is written with.</summary>
    public static int FormatVersionOf(WeightsFormat format) => format == WeightsFormat.Safetensors ? 3 : 2;

    /// <summary>The name of the weights file of <paramref name="format"/>.</summary>
    public static string WeightsFileOf(WeightsFormat format) => format == WeightsFormat.Safetensors ? SafetensorsFile : WeightsFile;

    /// <summary>The weights file of the model directory <paramref name="dir"/> that <paramref name="manifest"/> describes.</summary>
    public static string WeightsPath(string dir, ModelManifest manifest) => Path.Combine(dir, WeightsFileOf(manifest.WeightsFormat));

    /// <summary>
    /// Writes a new model directory atomically: manifest, weights stored as <see cref="ModelManifest.WeightsDtype"/> in
    /// the file of <see cref="ModelManifest.WeightsFormat"/>, and the tokenizer's files copied from <paramref name="tokenizerSourceDir"/>. Fails if it exists.
    /// </summary>
    public static void Save(string dir, ModelManifest manifest, ITranslationModel model, string tokenizerSourceDir)
    {
        if (Path.Exists(dir)) throw NatEmException.In(dir, "already exists; remove it or choose another --out", ExitCodes.Usage);
        AtomicFile.WriteDirectory(dir, temp => WriteFiles(temp, manifest, model, tokenizerSourceDir));
    }

    /// <summary>The files of a model directory, written into <paramref name="dir"/> (a checkpoint adds its own beside them).</summary>
    public static void WriteFiles(string dir, ModelManifest manifest, ITranslationModel model, string tokenizerSourceDir)
    {
        SaveWeights(WeightsPath(dir, manifest), model, manifest.WeightsDtype, manifest.WeightsFormat);
        SaveManifest(dir, manifest with { FormatVersion = FormatVersionOf(manifest.WeightsFormat), WeightsSha256 = Sha256(WeightsPath(dir, manifest)) });
        SaveTokenizer(dir, tokenizerSourceDir, manifest.Tokenizer);
    }

    /// <summary>
    /// Saves the weights in <paramref name="dtype"/> to <paramref name="path"/>, in TorchSharp's format or (through
    /// TorchSharp.PyBridge) as safetensors, one tensor per state-dictionary entry under its TorchSharp name. A
    /// half-precision save rounds the model's own float32 weights to that type, so the model in memory computes exactly
    /// what a reload of the file will.
    /// </summary>
    private static void SaveWeights(string path, ITranslationModel model, WeightsDtype dtype, WeightsFormat format)
    {
        if (dtype != WeightsDtype.Fp32) model.Module.to(ScalarTypeOf(dtype));
        try
        {
            AtomicFile.Write(path, s =>
            {
                if (format == WeightsFormat.Safetensors)
                {
                    model.Module.save_safetensors(s, leaveOpen: true);
                    return;
                }
                using var writer = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                model.Module.save(writer);
            });
        }
        finally
        {
            if (dtype != WeightsDtype.Fp32) model.Module.to(ScalarType.Float32);
        }
    }

    private static ScalarType ScalarTypeOf(WeightsDtype dtype) => dtype switch
    {
        WeightsDtype.Bf16 => ScalarType.BFloat16,
        WeightsDtype.Fp16 => ScalarType.Float16,
        _ => ScalarType.Float32,
    };

    private static void SaveManifest(string dir, ModelManifest manifest) =>
        AtomicFile.WriteAllText(Path.Combine(dir, ManifestFile), JsonSerializer.Serialize(manifest, OnDiskJson.Options));

    /// <summary>The SHA-256 of a model directory's weights file: the one model.json records, else computed.</summary>
    public static string WeightsSha256(string dir)
    {
        var manifest = ReadManifest(dir);
        return manifest.WeightsSha256 ?? Sha256(WeightsPath(dir, manifest), RequireWeightsFile(dir, manifest));
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>Copies the tokenizer's files from <paramref name="sourceDir"/> into the model directory.</summary>
    private static void SaveTokenizer(string dir, string sourceDir, TokenizerInfo tokenizer)
    {
        foreach (var file in tokenizer.Files)
        {
            // Read only from inside the source directory (no link out of it) and write only inside the new one.
            var source = PlainFileName.In(sourceDir, file, Path.Combine(sourceDir, ManifestFile), ExitCodes.BadModel);
            AtomicFile.WriteAllBytes(PlainFileName.In(dir, file, Path.Combine(sourceDir, ManifestFile), ExitCodes.BadModel), File.ReadAllBytes(source));
        }
    }

    /// <summary>Every tokenizer file model.json names is a plain name of the model directory (a crafted name could reach outside it).</summary>
    private static void RequirePlainTokenizerFiles(string dir, ModelManifest manifest)
    {
        foreach (var file in manifest.Tokenizer?.Files ?? [])
            PlainFileName.In(dir, file, Path.Combine(dir, ManifestFile), ExitCodes.BadModel);
    }

    /// <summary>
    /// The model directory a path stands for: a model directory as it is; a training run directory's
    /// checkpoint_best, or its checkpoint_last when no best exists yet; an EM run directory's final model.
    /// The note says which was chosen (null when the path is a model directory itself).
    /// </summary>
    public static (string Directory, string? Note) Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, ManifestFile)) || !Directory.Exists(path)) return (path, null);
        foreach (var (name, what) in new[]
                 {
                     ("checkpoint_best", "its best checkpoint"),
                     ("checkpoint_last", "its last checkpoint, since it has no checkpoint_best yet"),
                     ("model", "the EM run's final model"),
                 })
        {
            var candidate = Path.Combine(path, name);
            PlainFileName.RequireLinkInside(candidate, candidate, ExitCodes.BadModel);
            if (File.Exists(Path.Combine(candidate, ManifestFile))) return (candidate, $"{path} is a run directory: using {candidate} ({what})");
        }
        return (path, null);
    }

    /// <summary>A model directory loaded whole: manifest, model with weights, tokenizer.</summary>
    public static LoadedModel Load(string dir, ModelKind? expectedKind = null)
    {
        var manifest = ReadManifest(dir, expectedKind);
        var model = LoadModel(dir, manifest);
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
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), OnDiskJson.Options);
        }
        catch (JsonException e)
        {
            throw NatEmException.At(path, (e.LineNumber ?? 0) + 1, $"invalid model manifest: {e.Message}", ExitCodes.BadModel);
        }
        if (manifest is null) throw NatEmException.In(path, "empty model manifest", ExitCodes.BadModel);
        // System.Text.Json leaves an explicit null (or an absent constructor argument) null whatever the annotations say.
        if (manifest.Config is null) throw NatEmException.In(path, "config is null; the model's architecture is required", ExitCodes.BadModel);
        if (manifest.Tokenizer is null) throw NatEmException.In(path, "tokenizer is null; the model's tokenizer description is required", ExitCodes.BadModel);
        if (manifest.Tokenizer.Kind is null || manifest.Tokenizer.Files is null || manifest.Tokenizer.Files.Any(f => f is null))
            throw NatEmException.In(path, "tokenizer.kind and tokenizer.files are required", ExitCodes.BadModel);
        if (manifest.FormatVersion > FormatVersion)
            throw NatEmException.In(path, $"format_version {manifest.FormatVersion} is newer than this NatEm supports ({FormatVersion}); upgrade NatEm", ExitCodes.BadModel);
        if (manifest.FormatVersion < 1)
            throw NatEmException.In(path, $"invalid format_version {manifest.FormatVersion}", ExitCodes.BadModel);
        if (manifest.WeightsFormat != WeightsFormat.TorchSharp && manifest.FormatVersion < FormatVersionOf(manifest.WeightsFormat))
            throw NatEmException.In(path, $"weights_format {manifest.WeightsFormat} needs format_version {FormatVersionOf(manifest.WeightsFormat)} or later, not {manifest.FormatVersion}", ExitCodes.BadModel);
        RequirePlainTokenizerFiles(dir, manifest);
        try
        {
            manifest.Config.Validate();
        }
        catch (NatEmException e)
        {
            throw NatEmException.In(path, e.Message, ExitCodes.BadModel);
        }
        if (manifest.Tokenizer.VocabSize != manifest.Config.VocabSize)
            throw NatEmException.In(path, $"tokenizer.vocab_size {manifest.Tokenizer.VocabSize} differs from config.vocab_size {manifest.Config.VocabSize}", ExitCodes.BadModel);
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

    /// <summary><see cref="ReadManifest(string)"/>, and a BadModel error when the model is not of the expected kind.</summary>
    public static ModelManifest ReadManifest(string dir, ModelKind? expectedKind)
    {
        var manifest = ReadManifest(dir);
        if (expectedKind is { } kind && manifest.Kind != kind)
            throw NatEmException.In(Path.Combine(dir, ManifestFile),
                $"this is {DescribeWithArticle(manifest.Kind)} model, but the command needs {DescribeWithArticle(kind)} model", ExitCodes.BadModel);
        return manifest;
    }

    /// <summary>Builds the model described by <c>model.json</c> and loads its weights.</summary>
    public static ITranslationModel LoadModel(string dir, ModelKind? expectedKind = null) => LoadModel(dir, ReadManifest(dir, expectedKind));

    /// <summary>Builds the model that <paramref name="manifest"/> (read from <paramref name="dir"/>) describes and loads its weights.</summary>
    public static ITranslationModel LoadModel(string dir, ModelManifest manifest)
    {
        // Before allocating: a model.json that promises more than weights.bin holds is damaged, however large its numbers.
        RequireWeightsFile(dir, manifest);
        var model = TranslationModels.Create(manifest.Kind, manifest.Config);
        LoadWeights(dir, model, manifest);
        return model;
    }

    /// <summary>A model that only decodes or scores: loaded, then frozen in <paramref name="precision"/> (weights cast once).</summary>
    public static ITranslationModel LoadForDecoding(string dir, ModelKind kind, Precision precision)
    {
        var model = LoadModel(dir, kind);
        model.FreezeForInference(precision);
        return model;
    }

    /// <summary><see cref="LoadForDecoding"/> of an AR model (the kind check makes the type certain).</summary>
    public static ArTransformer LoadArForDecoding(string dir, Precision precision) => (ArTransformer)LoadForDecoding(dir, ModelKind.Autoregressive, precision);

    /// <summary><see cref="LoadForDecoding"/> of a NAR model (the kind check makes the type certain).</summary>
    public static NarTransformer LoadNarForDecoding(string dir, Precision precision) => (NarTransformer)LoadForDecoding(dir, ModelKind.NonAutoregressive, precision);

    /// <summary><see cref="Load"/> of a NAR model directory, with the model as the class the kind check makes certain (score-nar scores with it).</summary>
    public static (LoadedModel Loaded, NarTransformer Model) LoadNar(string dir)
    {
        var loaded = Load(dir, ModelKind.NonAutoregressive);
        return (loaded, (NarTransformer)loaded.Model);
    }

    /// <summary>
    /// Loads the weights file (weights.bin or model.safetensors) into <paramref name="model"/> as float32, whatever dtype
    /// model.json says the file has, checking its checksum (when model.json has one) and that every weight is finite.
    /// A safetensors file's header is checked against the model first (<see cref="SafetensorsHeader.Require"/>).
    /// </summary>
    public static void LoadWeights(string dir, ITranslationModel model) => LoadWeights(dir, model, ReadManifest(dir));

    /// <summary>
    /// A warm start's weights: <see cref="LoadWeights(string, ITranslationModel)"/> when the model directory's weights
    /// are laid out as <paramref name="model"/>'s (the same NAR loss: <see cref="ArchitectureOptions.ContinueFrom"/>
    /// changes nothing else that has weights; dropout has none); otherwise they are loaded into a model of their own
    /// architecture and copied by name, and every weight of <paramref name="model"/> must be among them. That is how a
    /// CTC model warm-starts from a length-classifier model (GLAT's warm start: the blank is &lt;unk&gt;, so every shape
    /// matches), leaving the length classifier behind.
    /// </summary>
    public static void LoadWarmStart(string dir, ITranslationModel model)
    {
        var manifest = ReadManifest(dir);
        if (manifest.Config.NarLoss == model.Config.NarLoss)
        {
            LoadWeights(dir, model, manifest);
            return;
        }
        var trained = TranslationModels.Create(manifest.Kind, manifest.Config);
        using var trainedModule = trained.Module;
        LoadWeights(dir, trained, manifest);
        var trainedWeights = trainedModule.state_dict();
        using var _ = no_grad();
        foreach (var (name, weights) in model.Module.state_dict())
        {
            if (!trainedWeights.TryGetValue(name, out var source) || !source.shape.SequenceEqual(weights.shape))
                throw NatEmException.In(Path.Combine(dir, ManifestFile), $"cannot warm-start this model: it has no {name} of shape [{string.Join(", ", weights.shape)}]", ExitCodes.BadModel);
            weights.copy_(source);
        }
    }

    private static void LoadWeights(string dir, ITranslationModel model, ModelManifest manifest)
    {
        var dtype = manifest.WeightsDtype;
        var path = WeightsPath(dir, manifest);
        long maxBytes = RequireWeightsFile(dir, manifest);
        if (manifest.WeightsFormat == WeightsFormat.Safetensors)
            SafetensorsHeader.Require(path, model.Module.state_dict(), ScalarTypeOf(dtype), maxBytes);
        if (manifest.WeightsSha256 is { } expected && !string.Equals(Sha256(path, maxBytes), expected, StringComparison.OrdinalIgnoreCase))
            throw NatEmException.In(path, $"SHA-256 differs from the weights_sha256 in {ManifestFile}: the file is damaged or was replaced", ExitCodes.BadModel);
        try
        {
            if (dtype != WeightsDtype.Fp32) model.Module.to(ScalarTypeOf(dtype));
            if (manifest.WeightsFormat == WeightsFormat.Safetensors) model.Module.load_safetensors(path, strict: true);
            else model.Module.load(path, strict: true);
            if (dtype != WeightsDtype.Fp32) model.Module.to(ScalarType.Float32);
        }
        catch (Exception e) when (e is not NatEmException)
        {
            throw NatEmException.In(path, $"unreadable or truncated weights ({e.Message.Split('\n')[0]})", ExitCodes.BadModel);
        }
        using var _ = no_grad();
        foreach (var (name, weights) in model.Module.state_dict())
        {
            using var finite = weights.isfinite().all();
            if (!finite.item<bool>())
                throw NatEmException.In(path, $"{name} holds NaN or infinite values (a diverged training run or a damaged file)", ExitCodes.BadModel);
        }
    }

    /// <summary>Bytes per stored weight of each <see cref="WeightsDtype"/>.</summary>
    private static int BytesPerWeight(WeightsDtype dtype) => dtype == WeightsDtype.Fp32 ? 4 : 2;

    /// <summary>
    /// The sizes a weights file of <paramref name="manifest"/>'s model can have: every parameter's bytes, plus at most
    /// <see cref="MaxTensorHeaderBytes"/> per tensor for its name, dtype and shape (TorchSharp's per-tensor header, or
    /// the tensor's entry in the safetensors JSON header).
    /// </summary>
    public static (long Min, long Max) WeightsFileBounds(ModelManifest manifest)
    {
        long data = manifest.Config.ParameterCount(manifest.Kind) * BytesPerWeight(manifest.WeightsDtype);
        return (data, data + 16 + (long)MaxTensorHeaderBytes * manifest.Config.TensorCount(manifest.Kind));
    }

    /// <summary>A generous bound on one tensor's header in the weights file (its name is under 100 characters).</summary>
    private const int MaxTensorHeaderBytes = 256;

    /// <summary>
    /// The weights file exists, is a file (links followed) and has a size that <paramref name="manifest"/>'s architecture
    /// allows; returns the largest allowed size. Checked with the file's metadata only, so a pipe or a device (whose
    /// size reads as 0) is refused without being opened, and nothing is read or allocated for a size the file cannot back.
    /// </summary>
    public static long RequireWeightsFile(string dir, ModelManifest manifest)
    {
        var path = WeightsPath(dir, manifest);
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        if (!info.Exists)
        {
            var other = WeightsFileOf(manifest.WeightsFormat == WeightsFormat.Safetensors ? WeightsFormat.TorchSharp : WeightsFormat.Safetensors);
            throw NatEmException.In(path, File.Exists(Path.Combine(dir, other))
                ? $"missing model weights ({ManifestFile} says weights_format {manifest.WeightsFormat}, but the directory holds {other})"
                : "missing model weights", ExitCodes.BadModel);
        }
        var (min, max) = WeightsFileBounds(manifest);
        if (info.Length < min || info.Length > max)
            throw NatEmException.In(path, info.Length == 0
                ? "is empty or not a regular file (a pipe or a device); expected the model's weights"
                : $"holds {info.Length:N0} bytes, but the architecture in {ManifestFile} needs {min:N0} to {max:N0} bytes of {manifest.WeightsDtype} weights: "
                  + "the file is damaged, or model.json was edited", ExitCodes.BadModel);
        return max;
    }

    /// <summary>The SHA-256 of the first <paramref name="maxBytes"/> bytes of a file, and an error if it has more (it grew after it was checked).</summary>
    private static string Sha256(string path, long maxBytes)
    {
        using var stream = File.OpenRead(path);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long total = 0;
        for (int read; (read = stream.Read(buffer)) > 0;)
        {
            if ((total += read) > maxBytes) throw NatEmException.In(path, $"holds more than the {maxBytes:N0} bytes its model needs", ExitCodes.BadModel);
            hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>"autoregressive" or "non-autoregressive" (serve's /v1/models says this).</summary>
    public static string Name(ModelKind kind) => Words(kind).Name;

    /// <summary>"autoregressive (AR)" or "non-autoregressive (NAR)".</summary>
    public static string Describe(ModelKind kind) => $"{Words(kind).Name} ({Words(kind).Abbreviation})";

    /// <summary>"an autoregressive (AR)" or "a non-autoregressive (NAR)".</summary>
    public static string DescribeWithArticle(ModelKind kind) => $"{Words(kind).Article} {Describe(kind)}";

    private static (string Article, string Name, string Abbreviation) Words(ModelKind kind) =>
        kind == ModelKind.Autoregressive ? ("an", "autoregressive", "AR") : ("a", "non-autoregressive", "NAR");
}

public sealed record LoadedModel(string Directory, ModelManifest Manifest, ITranslationModel Model, ISubwordTokenizer Tokenizer);
