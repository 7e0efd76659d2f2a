using NatEm.Data;
using NatEm.Modeling;

namespace NatEm.Cli;

/// <summary>Models that commands feed a prepared data directory's token ids to (bench, train --init-from).</summary>
public static class PreparedDataModels
{
    /// <summary>Loads a model of the expected kind whose tokenizer is the prepared data's, since it reads the data's token ids as they are.</summary>
    public static LoadedModel LoadMatching(string dir, ModelKind kind, PreparedData data)
    {
        var model = ModelStore.Load(dir, kind);
        if (model.Manifest.Tokenizer.VocabSize != data.Manifest.Tokenizer.VocabSize || model.Manifest.Tokenizer.Kind != data.Manifest.Tokenizer.Kind)
            throw NatEmException.In(Path.Combine(dir, ModelStore.ManifestFile),
                $"tokenizer ({model.Manifest.Tokenizer.Kind}, {model.Manifest.Tokenizer.VocabSize} tokens) differs from the prepared data's ({data.Manifest.Tokenizer.Kind}, {data.Manifest.Tokenizer.VocabSize} tokens)",
                ExitCodes.BadModel);
        return model;
    }
}
