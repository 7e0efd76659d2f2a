using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Tests.Cli;

[Collection(TinyModelsCollection.Name)]
public sealed class AverageCommandTests(TinyModels models)
{
    [Fact]
    public void AveragingTheLastTwoCheckpointsGivesTheElementWiseMeanAndALoadableModel()
    {
        var numbered = new CheckpointDirectory(models.ArRun).Numbered();
        var output = models.NewPath("averaged");

        var (exitCode, _, error) = TinyModels.Run("average", "--run", models.ArRun, "--last", "2", "--out", output);

        Assert.True(exitCode == ExitCodes.Ok, error);
        var (older, newer, averaged) = (TinyModels.Weights(numbered[^2]), TinyModels.Weights(numbered[^1]), TinyModels.Weights(output));
        Assert.Equal(older.Keys.Order(), averaged.Keys.Order());
        Assert.Contains(older.Keys, name => !older[name].SequenceEqual(newer[name]));
        foreach (var name in older.Keys)
            Assert.Equal(older[name].Zip(newer[name], (a, b) => (a + b) / 2), averaged[name]);
        // A complete model directory: translate loads it.
        Assert.Equal(ExitCodes.Ok, TinyModels.Run("translate", "--model", output, "--input", models.WriteLines("red cat")).ExitCode);
    }

    [Fact]
    public void AveragingOneCheckpointReproducesIt()
    {
        var output = models.NewPath("single");

        var (exitCode, _, error) = TinyModels.Run("average", "--inputs", models.Nar, "--out", output);

        Assert.True(exitCode == ExitCodes.Ok, error);
        var (original, averaged) = (TinyModels.Weights(models.Nar), TinyModels.Weights(output));
        foreach (var name in original.Keys) Assert.Equal(original[name], averaged[name]);
        Assert.Equal(ModelKind.NonAutoregressive, ModelStore.ReadManifest(output).Kind);
    }

    [Fact]
    public void CheckpointsOfDifferentModelsAreAUsageErrorAndWriteNothing()
    {
        var output = models.NewPath("mixed");

        var (exitCode, _, error) = TinyModels.Run("average", "--inputs", models.Ar, models.Nar, "--out", output);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains(models.Nar, error);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void AskingForMoreCheckpointsThanTheRunKeptIsAUsageError()
    {
        var (exitCode, _, error) = TinyModels.Run("average", "--run", models.ArRun, "--last", "50", "--out", models.NewPath("too-many"));

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("--last asks for 50", error);
    }
}
