using System.CommandLine;
using System.Text.Json.Nodes;
using NatEm.Cli;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Tests.Em;
using NatEm.Training;

namespace NatEm.Tests.Cli;

/// <summary>
/// A tiny AR and a tiny NAR model, briefly trained on <see cref="TinyPreparedData"/> so that their outputs differ
/// from sentence to sentence; each run keeps several numbered checkpoints for averaging. Trained once for all CLI tests.
/// </summary>
public sealed class TinyModels : IDisposable
{
    private static readonly TrainingOptions QuickTraining = new()
    {
        MaxUpdates = 24, ValidateEvery = 8, LogEvery = 8, MaxTokens = 1024, LearningRate = 3e-3, WarmupUpdates = 4,
        BestMetric = BestCheckpointMetric.Loss, KeepLast = 3,
    };

    public PreparedData Data { get; } = TinyPreparedData.Create();
    public string ArRun { get; }
    public string NarRun { get; }
    public string Ar => Path.Combine(ArRun, "checkpoint_last");
    public string Nar => Path.Combine(NarRun, "checkpoint_last");
    public string Scratch { get; } = SyntheticTask.TempDir();

    public TinyModels()
    {
        ArRun = Train(ModelKind.Autoregressive);
        NarRun = Train(ModelKind.NonAutoregressive);
    }

    private string Train(ModelKind kind)
    {
        var runDir = SyntheticTask.TempDir();
        var model = TranslationModels.Create(kind, TransformerConfig.Preset("tiny", Data.Tokenizer.VocabSize), seed: 11);
        new Trainer(model, QuickTraining, runDir, ParallelExamples.Of(Data.Split("train")), ParallelExamples.Of(Data.Split("valid")),
            ModelDirectoryContents.From(Data, new JsonObject { ["test"] = "cli" })).Run(resume: false);
        return runDir;
    }

    /// <summary>A model directory's weights by parameter name, as loaded (float32).</summary>
    public static Dictionary<string, float[]> Weights(string modelDir)
    {
        var model = ModelStore.LoadModel(modelDir);
        var weights = model.Module.state_dict().ToDictionary(p => p.Key, p => p.Value.data<float>().ToArray());
        // A model collected while its tensors are read disposes them ("empty handle").
        GC.KeepAlive(model);
        return weights;
    }

    /// <summary>Writes lines to a new file in the scratch directory.</summary>
    public string WriteLines(params string[] lines)
    {
        var path = Path.Combine(Scratch, $"{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    public string NewPath(string name) => Path.Combine(Scratch, $"{Guid.NewGuid():N}-{name}");

    /// <summary>Runs `natem ARGS` in-process, as Program.cs does, capturing stdout and stderr.</summary>
    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int exitCode = NatEmCommandLine.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        foreach (var dir in new[] { ArRun, NarRun, Scratch, Path.GetDirectoryName(Data.Directory)! })
            Directory.Delete(dir, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class TinyModelsCollection : ICollectionFixture<TinyModels>
{
    public const string Name = "tiny CLI models";
}
