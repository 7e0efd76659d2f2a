using System.CommandLine;
using NatEm.Cli.Commands;
using NatEm.Em;
using NatEm.Modeling;

namespace NatEm.Tests.Cli;

public class ArchitectureOptionsTests
{
    [Fact]
    public void NarChoicesApplyToNarModelsOnlyAndDropoutToBoth()
    {
        var options = new ArchitectureOptions { Preset = "tiny", Dropout = 0.3, DecoderInput = NarDecoderInput.UniformCopy, LengthPrediction = LengthPrediction.Offset };

        var ar = options.Resolve(ModelKind.Autoregressive, 100);
        var nar = options.Resolve(ModelKind.NonAutoregressive, 100);

        var preset = TransformerConfig.Preset("tiny", 100);
        Assert.Equal(preset with { Dropout = 0.3, AttentionDropout = 0.3 }, ar);
        Assert.Equal(ar with { DecoderInput = NarDecoderInput.UniformCopy, LengthPrediction = LengthPrediction.Offset }, nar);
        Assert.Equal(preset, new ArchitectureOptions { Preset = "tiny" }.Resolve(ModelKind.NonAutoregressive, 100));
        Assert.Throws<NatEmException>(() => (options with { Dropout = 1.5 }).Resolve(ModelKind.Autoregressive, 100));
    }

    /// <summary>`natem em ARGS` parsed and bound as the command does.</summary>
    private static EmOptions BindEm(string arguments, EmOptions? baseline = null)
    {
        var binder = new EmOptionsBinder();
        var command = new Command("em");
        binder.AddTo(command);
        return binder.Bind(command.Parse(arguments), baseline);
    }

    [Fact]
    public void EmFlagsReachTheEmOptionsAndUnsetFlagsKeepTheBaseline()
    {
        var given = BindEm("--preset tiny --dropout 0.2 --decoder-input UniformCopy --length-prediction Offset --selection-score PerToken");
        var unset = BindEm("", DemoCommand.DemoEm);

        Assert.Equal(new ArchitectureOptions { Preset = "tiny", Dropout = 0.2, DecoderInput = NarDecoderInput.UniformCopy, LengthPrediction = LengthPrediction.Offset }, given.Architecture);
        Assert.Equal(NatEm.Em.SelectionScore.PerToken, given.SelectionScore);
        Assert.Equal(DemoCommand.DemoEm, unset);
    }

    [Fact]
    public void EmGlancingAppliesToTheNarStagesOnly()
    {
        var bare = BindEm("--glancing");
        var given = BindEm("--glancing 0.4:0.2@900");
        var unset = BindEm("");

        Assert.Equal(new NatEm.Training.GlancingSchedule(), bare.NarTraining.Glancing);
        Assert.Equal(new NatEm.Training.GlancingSchedule { Start = 0.4, End = 0.2, AnnealUpdates = 900 }, given.NarTraining.Glancing);
        Assert.Null(given.ArTraining.Glancing);
        Assert.Null(unset.NarTraining.Glancing);
    }

    [Fact]
    public void ArFlagsOverrideTheSharedTrainingFlagsForTheEStepOnly()
    {
        var given = BindEm("--max-updates 2500 --lr 1e-3 --ar-max-updates 1000 --ar-lr 2e-4");
        var shared = BindEm("--max-updates 2500 --lr 1e-3");

        Assert.Equal((1000, 2e-4), (given.ArTraining.MaxUpdates, given.ArTraining.LearningRate));
        Assert.Equal((2500, 1e-3), (given.NarTraining.MaxUpdates, given.NarTraining.LearningRate));
        Assert.Equal((2500, 1e-3), (shared.ArTraining.MaxUpdates, shared.ArTraining.LearningRate));
        Assert.Equal("invalid EM option: --ar-lr must be positive", Assert.Throws<NatEmException>(() => BindEm("--ar-lr -1")).Message);
        Assert.Equal("invalid EM option: --ar-max-updates must be positive", Assert.Throws<NatEmException>(() => BindEm("--ar-max-updates 0")).Message);
    }

    /// <summary>`em` reads --chunk-size as train-nar does (<see cref="NatEm.Cli.ShardOptions.ChunkSizeOf"/>), but unset it keeps the baseline's.</summary>
    [Fact]
    public void EmChunkSizeReachesTheEmOptionsAndUnsetKeepsTheBaseline()
    {
        var baseline = new EmOptions { ChunkSize = 7 };

        Assert.Equal(16, BindEm("--chunk-size 16", baseline).ChunkSize);
        Assert.Equal(7, BindEm("", baseline).ChunkSize);
        Assert.Equal(NatEm.Training.ChunkedStage.DefaultChunkSize, BindEm("").ChunkSize);
        var error = Assert.Throws<NatEmException>(() => BindEm("--chunk-size 0"));
        Assert.Equal((ExitCodes.Usage, "--chunk-size must be ≥ 1, not 0"), (error.ExitCode, error.Message));
    }

    [Fact]
    public void TrainArHasNoNarArchitectureFlags()
    {
        var trainAr = TrainCommand.Create(ModelKind.Autoregressive);
        var trainNar = TrainCommand.Create(ModelKind.NonAutoregressive);

        Assert.DoesNotContain(trainAr.Options, o => o.Name == "--decoder-input");
        Assert.Contains(trainNar.Options, o => o.Name == "--decoder-input");
        Assert.Contains(trainNar.Options, o => o.Name == "--length-prediction");
        Assert.DoesNotContain(trainAr.Options, o => o.Name == "--glancing");
        Assert.Contains(trainNar.Options, o => o.Name == "--glancing");
    }
}
