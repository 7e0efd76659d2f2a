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
        model.Manifest.Tokenizer.RequireSameVocabulary(data.Manifest.Tokenizer, Path.Combine(dir, ModelStore.ManifestFile), "the model", $"the prepared data {data.Directory}", ExitCodes.BadModel);
        return model;
    }
}
