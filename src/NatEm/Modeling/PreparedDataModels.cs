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
        var model = ModelStore.Load(dir, kind);
        RequireDataTokenizer(dir, model.Manifest, data);
        return model;
    }

    /// <summary>The manifest of a model directory of the expected kind whose tokenizer is the prepared data's, without loading the model.</summary>
    public static ModelManifest ReadMatching(string dir, ModelKind kind, PreparedData data)
    {
        var manifest = ModelStore.ReadManifest(dir, kind);
        RequireDataTokenizer(dir, manifest, data);
        return manifest;
    }

    private static void RequireDataTokenizer(string dir, ModelManifest manifest, PreparedData data)
    {
        if (manifest.Tokenizer.VocabSize != data.Manifest.Tokenizer.VocabSize || manifest.Tokenizer.Kind != data.Manifest.Tokenizer.Kind)
            throw NatEmException.In(Path.Combine(dir, ModelStore.ManifestFile),
                $"tokenizer ({manifest.Tokenizer.Kind}, {manifest.Tokenizer.VocabSize} tokens) differs from the prepared data's ({data.Manifest.Tokenizer.Kind}, {data.Manifest.Tokenizer.VocabSize} tokens)",
                ExitCodes.BadModel);
    }
}
