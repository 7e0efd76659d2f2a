using NatEm.Data;

namespace NatEm.Modeling;

/// <summary>
/// Models fed a prepared data directory's token ids as they are (bench, train --init-from): their tokenizer must be
/// the data's, else every id means another subword.
/// </summary>
public static class PreparedDataModels
{
    /// <summary>Loads a model of the expected kind whose tokenizer is the prepared data's.</summary>
    public static LoadedModel LoadMatching(string dir, ModelKind kind, PreparedData data)
    {
        ReadMatching(dir, kind, data);
        return ModelStore.Load(dir, kind);
    }

    /// <summary>
    /// The manifest of a model directory of the expected kind whose tokenizer is the prepared data's, without loading the
    /// model; its weights file is checked to fit the architecture, so that a model built from the manifest (a warm start)
    /// is never larger than the file that will fill it.
    /// </summary>
    public static ModelManifest ReadMatching(string dir, ModelKind kind, PreparedData data)
    {
        var manifest = ModelStore.ReadManifest(dir, kind);
        RequireDataTokenizer(dir, manifest, data);
        ModelStore.RequireWeightsFile(dir, manifest);
        return manifest;
    }

    private static void RequireDataTokenizer(string dir, ModelManifest manifest, PreparedData data) =>
        manifest.Tokenizer.RequireSameVocabulary(data.Manifest.Tokenizer, Path.Combine(dir, ModelStore.ManifestFile), "the model", $"the prepared data {data.Directory}");
}
