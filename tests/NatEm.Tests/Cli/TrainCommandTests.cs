using System.Text.Json;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Tests.Em;
using NatEm.Training;
using TorchSharp;

namespace NatEm.Tests.Cli;

[Collection(TinyModelsCollection.Name)]
public sealed class TrainCommandTests(TinyModels models)
{
    [Fact]
    public void InitFromStartsFromTheGivenWeightsAndArchitecture()
    {
        var run = models.NewPath("finetune");

        // A learning rate of 1e-12 moves no weight by more than 1e-11 in two Adam updates.
        var (exitCode, _, error) = TinyModels.Run("train-nar", "--data", models.Data.Directory, "--out", run, "--init-from", models.Nar,
            "--max-updates", "2", "--lr", "1e-12", "--warmup", "1", "--validate-every", "2", "--threads", "1");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var started = ModelStore.Load(models.Nar).Model;
        var trained = ModelStore.Load(Path.Combine(run, "checkpoint_last")).Model;
        Assert.Equal(started.Config, trained.Config);
        Assert.All(started.Module.parameters().Zip(trained.Module.parameters()), pair => Assert.True(pair.First.allclose(pair.Second, rtol: 0, atol: 1e-9), "weights changed"));
        // Set up by the library's TrainingJob, as every EM stage is: the checkpoint records the command, the data and the warm start.
        var provenance = ModelStore.ReadManifest(Path.Combine(run, "checkpoint_last")).Training!;
        Assert.Equal("train-nar", provenance["command"]!.GetValue<string>());
        Assert.Equal(Path.GetFullPath(models.Data.Directory), provenance["data"]!.GetValue<string>());
        Assert.Equal(models.Nar, provenance["warm_start"]!.GetValue<string>());
        // prepare's language codes travel into model.json, where serve's LibreTranslate routes read them.
        Assert.Equal(models.Data.Manifest.Languages, ModelStore.ReadManifest(Path.Combine(run, "checkpoint_last")).Languages);
        Assert.NotNull(models.Data.Manifest.Languages);
    }

    [Fact]
    public void InitFromKeepsTheModelsArchitectureAndAppliesAGivenDropout()
    {
        var run = models.NewPath("finetune-dropout");

        // --preset small is not the tiny model's: the architecture comes from the model, only --dropout from the flags.
        var (exitCode, _, error) = TinyModels.Run("train-ar", "--data", models.Data.Directory, "--out", run, "--init-from", models.Ar,
            "--preset", "small", "--dropout", "0.3", "--max-updates", "1", "--validate-every", "1", "--threads", "1");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var started = ModelStore.Load(models.Ar).Model.Config;
        Assert.Equal(started with { Dropout = 0.3, AttentionDropout = 0.3 }, ModelStore.Load(Path.Combine(run, "checkpoint_last")).Model.Config);
    }

    // TinyModels' NAR run: its options but for the environment ones (--validate-every, --threads) may be given again.
    private string[] ContinueNar(string run, string milestone, params string[] more) =>
        ["train-nar", "--data", models.Data.Directory, "--out", run, "--continue-from", milestone, "--max-tokens", "1024", "--lr", "3e-3", "--warmup", "4",
            "--max-updates", "24", "--best-metric", "Loss", "--validate-every", "4", "--threads", "1", .. more];

    private string NarCheckpoint(int update) => Path.Combine(models.NarRun, "checkpoints", $"update_{update:D7}");

    [Fact]
    public void ContinueFromContinuesTheRunOfACheckpointAndASecondStartInTheSameOutIsRefused()
    {
        var run = models.NewPath("continued");
        var milestone = NarCheckpoint(16);

        var (exitCode, output, error) = TinyModels.Run(ContinueNar(run, milestone));

        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Contains("stopped (max updates (24)) after 24 updates", output);
        var training = ModelStore.ReadManifest(Path.Combine(run, "checkpoint_last")).Training!;
        Assert.Equal(24, training["update"]!.GetValue<int>());
        Assert.Equal(milestone, training["continued_from"]!.GetValue<string>());
        Assert.Equal(16, training["optimizer_reset_at"]!.GetValue<int>());
        Assert.Equal(new[] { 20, 24 }, new CheckpointDirectory(run).Numbered().Select(d => CheckpointDirectory.ReadState(d).Update));

        // Starting again would overwrite the continued run: --resume continues it instead, with the same command or alone.
        (exitCode, _, error) = TinyModels.Run(ContinueNar(run, milestone));
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("already holds checkpoints; pass --resume", error);
        (exitCode, _, error) = TinyModels.Run(ContinueNar(run, milestone, "--resume"));
        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Equal(24, CheckpointDirectory.ReadState(Path.Combine(run, "checkpoint_last")).Update);
        (exitCode, _, error) = TinyModels.Run("train-nar", "--data", models.Data.Directory, "--out", run, "--resume", "--preset", "tiny", "--max-updates", "24");
        Assert.True(exitCode == ExitCodes.Ok, error);
    }

    [Fact]
    public void ContinueFromWithAnotherScheduleIsAUsageErrorNamingTheOptionBothValuesAndTheModel()
    {
        var milestone = NarCheckpoint(16);
        var args = ContinueNar(models.NewPath("continued-other-lr"), milestone);
        args[Array.IndexOf(args, "3e-3")] = "1e-3";

        var (exitCode, _, error) = TinyModels.Run(args);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.StartsWith($"natem: error: {Path.Combine(milestone, ModelStore.ManifestFile)}: --continue-from: training.options.learning_rate is 0.003 there but 0.001 here; ", error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("finished", ExitCodes.Usage, "where it already stops (max updates (24))")]
    [InlineData("init-from", ExitCodes.Usage, "--continue-from and --init-from exclude each other")]
    [InlineData("dropout", ExitCodes.Usage, "continues the model's own architecture")]
    [InlineData("ar", ExitCodes.BadModel, "this is a non-autoregressive")]
    [InlineData("untrained", ExitCodes.BadModel, "--continue-from needs the training.update and training.options")]
    public void ContinueFromRefusesWhatItCannotContinue(string problem, int expectedExitCode, string expectedError)
    {
        var run = models.NewPath("continued-refused");
        string[] args = problem switch
        {
            "finished" => ContinueNar(run, models.Nar),
            "init-from" => ContinueNar(run, NarCheckpoint(16), "--init-from", models.Nar),
            "dropout" => ContinueNar(run, NarCheckpoint(16), "--dropout", "0.3"),
            "ar" => ["train-ar", .. ContinueNar(run, NarCheckpoint(16)).Skip(1)],
            _ => ContinueNar(run, TinyPreparedData.SaveUntrainedModel(models.Data, ModelKind.NonAutoregressive, seed: 1, "untrained")),
        };

        var (exitCode, _, error) = TinyModels.Run(args);

        Assert.True(exitCode == expectedExitCode, error);
        Assert.Contains(expectedError, error);
        Assert.False(new CheckpointDirectory(run).HasCheckpoints);
    }

    [Fact]
    public void EmWritesTheReportTheRunReturnsBesideTheRun()
    {
        var run = models.NewPath("em");
        string[] em = ["em", "--data", models.Data.Directory, "--out", run, "--preset", "tiny", "--iterations", "0",
            "--max-updates", "2", "--nbest", "2", "--distill-beam", "1", "--train-limit", "24", "--valid-limit", "4", "--threads", "1"];
        var (exitCode, output, error) = TinyModels.Run(em);

        Assert.True(exitCode == ExitCodes.Ok, error);
        foreach (var file in new[] { "report.json", "report.md", "em.png" })
            Assert.True(File.Exists(Path.Combine(run, file)), $"{file} missing");
        Assert.Contains("| final (p from q0) |", File.ReadAllText(Path.Combine(run, "report.md")));
        Assert.Equal(["ar0", "final/nar"], System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run, "em_state.json")))!["finished"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.True(File.Exists(Path.Combine(run, "model", ModelStore.ManifestFile)), output);

        // Everything the run wrote belongs to an EM run directory, so --resume continues it (nothing is left to do).
        (exitCode, _, error) = TinyModels.Run([.. em, "--resume"]);
        Assert.True(exitCode == ExitCodes.Ok, error);
    }

    [Fact]
    public void InitFromAModelOfTheOtherKindIsABadModelError()
    {
        var (exitCode, _, error) = TinyModels.Run("train-ar", "--data", models.Data.Directory, "--out", models.NewPath("wrong-kind"), "--init-from", models.Nar,
            "--max-updates", "1");

        Assert.Equal(ExitCodes.BadModel, exitCode);
        Assert.Contains(models.Nar, error);
    }

    [Fact]
    public void GlancingScheduleIsResolvedAndRecordedInTheCheckpoint()
    {
        var run = models.NewPath("glancing");
        var (exitCode, _, error) = TinyModels.Run("train-nar", "--data", models.Data.Directory, "--out", run, "--glancing",
            "--max-updates", "3", "--validate-every", "3", "--threads", "1");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var training = ModelStore.ReadManifest(Path.Combine(run, "checkpoint_last")).Training!;
        Assert.Equal(new GlancingSchedule { AnnealUpdates = 3 }, training["options"]!["glancing"].Deserialize<GlancingSchedule>(OnDiskJson.Options));
    }

    [Fact]
    public void GlancingWithoutARunLengthIsAUsageError()
    {
        var (exitCode, _, error) = TinyModels.Run("train-nar", "--data", models.Data.Directory, "--out", models.NewPath("glancing-unbounded"), "--glancing",
            "--max-minutes", "1");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("--glancing", error);
    }

    [Theory]
    [InlineData("train-ar")]
    [InlineData("em")]
    public void ResumeOnAMissingRunDirectoryIsAUsageError(string command)
    {
        var run = models.NewPath("no-such-run");

        var (exitCode, _, error) = TinyModels.Run(command, "--data", models.Data.Directory, "--out", run, "--resume", "--preset", "tiny", "--max-updates", "1");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.StartsWith($"natem: error: {run}: --resume: no such run directory", error);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void ProgressWithoutATerminalIsOneUnwrappedLinePerStepWithValidationDecodingProgress()
    {
        var (exitCode, output, error) = TinyModels.Run("train-ar", "--data", models.Data.Directory, "--out", models.NewPath("plain-progress"),
            "--preset", "tiny", "--max-updates", "6", "--log-every", "2", "--validate-every", "3", "--threads", "1");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == lines.Distinct().Count(), output);
        Assert.Equal(3, lines.Count(l => l.StartsWith("train-ar | upd ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("train-ar | upd 6 ", StringComparison.Ordinal) && l.Contains("tok/s | lr ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("train-ar: stopped (max updates (6)) after 6 updates", StringComparison.Ordinal) && l.EndsWith("-> checkpoints/update_0000003", StringComparison.Ordinal));
        Assert.Contains("train-ar: validation 1 decoding: 100% (12/12)", lines);
        Assert.Contains("train-ar: validation 2 decoding: 100% (12/12)", lines);
        Assert.Equal(2, lines.Count(l => l.StartsWith("train-ar: update ", StringComparison.Ordinal) && l.Contains(": valid loss ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("--max-epochs", "0")]
    [InlineData("--max-updates", "-1")]
    [InlineData("--max-minutes", "0")]
    public void ANonPositiveLimitIsAUsageErrorNamingTheOption(string option, string value)
    {
        var (exitCode, _, error) = TinyModels.Run("train-ar", "--data", models.Data.Directory, "--out", models.NewPath("limits"), option, value);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"{option} must be positive", error);
    }

    [Fact]
    public void BenchUsesAllCoresByDefaultLikeEveryCommand()
    {
        var (_, output, _) = TinyModels.Run("bench", "--help");
        Assert.Contains($"libtorch threads (default: all cores, here {Environment.ProcessorCount})", output);
        Assert.DoesNotContain("[default: ", output.Split('\n').Single(l => l.Contains("--threads", StringComparison.Ordinal)));
    }

    [Fact]
    public void MaxTokensBeyondTheMemoryLimitIsAUsageError()
    {
        var (exitCode, _, error) = TinyModels.Run("train-ar", "--data", models.Data.Directory, "--out", models.NewPath("huge-batch"), "--preset", "tiny",
            "--max-updates", "1", "--max-tokens", "2000000000");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("--max-tokens 2000000000 needs about ", error);
        Assert.Contains("the largest --max-tokens that fits is ", error);
    }
}
