using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>What every NatEm model exposes to storage, training and decoding code.</summary>
public interface ITranslationModel
{
    TransformerConfig Config { get; }
    ModelKind Kind { get; }
    /// <summary>The dtype its linear layers and attention compute in (<see cref="MixedPrecision"/>); fp32 when built.</summary>
    Precision Precision { get; set; }
    /// <summary>
    /// Fixes the precision and casts (and fuses) the weights once, for decoding only: a frozen model is not trained
    /// or saved afterwards. Decoding commands call it right after loading.
    /// </summary>
    void FreezeForInference(Precision precision);
    /// <summary>The TorchSharp module that owns the parameters.</summary>
    nn.Module Module { get; }
    /// <summary>Starts a training forward over a batch of (source, target) id sequences (the criterion's one entry point into the model).</summary>
    ITrainingPass BeginTraining(IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets);
}

public static class TranslationModels
{
    /// <summary>A freshly initialized model; with a seed, the initialization is reproducible.</summary>
    public static ITranslationModel Create(ModelKind kind, TransformerConfig config, int? seed = null)
    {
        if (seed is { } s) torch.manual_seed(s);
        return Construct(kind, config);
    }

    private static ITranslationModel Construct(ModelKind kind, TransformerConfig config) => kind switch
    {
        ModelKind.Autoregressive => new ArTransformer(config),
        ModelKind.NonAutoregressive => new NarTransformer(config),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
