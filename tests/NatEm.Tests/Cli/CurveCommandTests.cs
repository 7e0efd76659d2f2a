using NatEm.Evaluation;

namespace NatEm.Tests.Cli;

[Collection(TinyModelsCollection.Name)]
public sealed class CurveCommandTests(TinyModels models)
{
    [Fact]
    public void TheCurveHoldsEveryValidationOfTheRunInOrderAndIsPlotted()
    {
        var dir = models.NewPath("curves");

        var (exitCode, output, error) = TinyModels.Run("curve", "--run", $"ar={models.ArRun}", "--run", models.NarRun, "--out", dir);

        Assert.True(exitCode == ExitCodes.Ok, error);
        var curve = TrainingCurve.Read("ar", models.ArRun);
        Assert.Equal([8, 16, 24], curve.Points.Select(p => p.Update));
        Assert.True(curve.Points.Zip(curve.Points.Skip(1)).All(pair => pair.Second.Hours > pair.First.Hours));
        Assert.All(curve.Points, p => Assert.InRange(p.ValidLoss, 0.1, 20));
        Assert.Contains("| ar: update | epoch | hours | valid loss | valid BLEU |", output);
        Assert.Contains($"| {Path.GetFileName(models.NarRun)}: update |", output);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(dir, TrainingCurve.PlotFile))[..4]);
        Assert.Equal([TrainingCurve.PlotFile], Directory.GetFiles(dir).Select(Path.GetFileName));
    }

    /// <summary>--out is a directory, as in every command; the PNG name it once took is a usage error rather than a directory of that name.</summary>
    [Fact]
    public void OutIsADirectoryNotAPngName()
    {
        var png = models.NewPath("old-style.png");

        var run = TinyModels.Run("curve", "--run", models.ArRun, "--out", png);

        OptionVocabularyTests.AssertOneLineUsageError($"--out {png}: give the directory to write curve.png into, not a PNG file name", run);
        Assert.False(Path.Exists(png));
    }

    [Fact]
    public void AMalformedLogLineIsBadInputNamingItsLine()
    {
        var run = models.NewPath("broken-run");
        Directory.CreateDirectory(run);
        File.WriteAllLines(Path.Combine(run, TrainingCurve.LogFile), ["{\"update\":1,\"valid_loss\":2.5}", "{not json"]);

        var (exitCode, _, error) = TinyModels.Run("curve", "--run", run, "--out", models.NewPath("x"));

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Contains($"{TrainingCurve.LogFile}:2", error);
    }
}
