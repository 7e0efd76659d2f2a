using System.Diagnostics;
using NatEm.Tests.Cli;

namespace NatEm.Tests.Em;

/// <summary>
/// A decoding pass of an EM run in three `natem em --stage … --shard i/3` processes, one of them killed and rerun, then
/// the run itself: it must end with the very files of a run that did everything in one process.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class ShardedPassTests(TinyModels models)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    /// <summary>A one-round EM run on the tiny data (120 sources, parts of 16: 8 parts) from the tiny AR model as q₀.</summary>
    private string[] Em(string run, params string[] more) => Em(run, nbest: 3, distillBeam: 2, more);

    private string[] Em(string run, int nbest, int distillBeam, params string[] more) =>
        ["em", "--data", models.Data.Directory, "--out", run, "--initial-ar", models.Ar, "--preset", "tiny", "--iterations", "1", "--nbest", $"{nbest}", "--distill-beam", $"{distillBeam}",
         "--max-updates", "6", "--validate-every", "1000", "--log-every", "3", "--max-tokens", "1024", "--warmup", "2", "--best-metric", "Loss", "--valid-limit", "6",
         "--chunk-size", "16", "--threads", "1", "--seed", "3", .. more];

    private static (int ExitCode, string Output, string Errors) Run(string[] arguments) => CliProcess.Run(CliProcess.StartInfo(arguments), Patience);

    private static Process Start(string[] arguments) => CliProcess.Start(arguments);

    private static string[] Parts(string folder) => [.. Directory.GetFiles(folder, "part_*.bin").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    private static string? oneProcessRun;

    /// <summary>The run done in one process, once for both tests.</summary>
    private string OneProcessRun()
    {
        if (oneProcessRun is null)
        {
            var run = models.NewPath("em-one");
            var (exitCode, _, errors) = Run(Em(run));
            Assert.True(exitCode == 0, errors);
            oneProcessRun = run;
        }
        return oneProcessRun;
    }

    private static void AssertSameFiles(string expected, string actual, IEnumerable<string> files)
    {
        foreach (var file in files)
            Assert.True(File.ReadAllBytes(Path.Combine(expected, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, file))), $"{file} differs");
    }

    [Fact]
    public void ThreeShardsOneKilledAndRerunMergeIntoTheOneProcessRunByteForByte()
    {
        var one = OneProcessRun();
        var sharded = Path.Combine(models.NewPath("em-sharded"));
        var nbest = Path.Combine(sharded, "round1", "nbest");

        var shards = Enumerable.Range(0, 3).Select(i => Start(Em(sharded, "--stage", "round1/nbest", "--shard", $"{i}/3"))).ToArray();
        // Shard 1 is killed as soon as its first part (part 1) is written, or at once if it is already done.
        var killed = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(nbest, "part_00001.bin")) && !shards[1].HasExited && killed.Elapsed < Patience) Thread.Sleep(10);
        shards[1].Kill(entireProcessTree: true);
        foreach (var shard in shards) Assert.True(shard.WaitForExit(Patience));
        Assert.Equal((0, 0), (shards[0].ExitCode, shards[2].ExitCode));
        var keptBeforeRerun = Parts(nbest).ToDictionary(p => p, p => File.GetLastWriteTimeUtc(Path.Combine(nbest, p)));
        Assert.Subset(keptBeforeRerun.Keys.ToHashSet(), new HashSet<string> { "part_00000.bin", "part_00002.bin", "part_00003.bin", "part_00005.bin", "part_00006.bin" });

        var rerun = Run(Em(sharded, "--stage", "round1/nbest", "--shard", "1/3"));
        Assert.Equal(0, rerun.ExitCode);
        Assert.Contains("round1/nbest: shard 1/3: computed", rerun.Output);
        Assert.Contains("8 of the pass's 8 parts are finished", rerun.Output);
        // Nothing a shard finished is computed again.
        foreach (var (part, written) in keptBeforeRerun) Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(nbest, part)));

        // A shard of another plan (other --nbest) is refused before it writes anything.
        var otherPlan = Run(Em(sharded, nbest: 4, distillBeam: 2, "--stage", "round1/nbest", "--shard", "0/3"));
        Assert.Equal(ExitCodes.Usage, otherPlan.ExitCode);
        Assert.Contains("inputs.txt: its results were computed from AR model weights sha256", otherPlan.Errors);

        var merged = Run(Em(sharded));
        Assert.True(merged.ExitCode == 0, merged.Errors);

        Assert.Equal(Parts(Path.Combine(one, "round1", "nbest")), Parts(nbest));
        AssertSameFiles(one, sharded, Parts(nbest).Select(p => Path.Combine("round1", "nbest", p)).Concat([Path.Combine("round1", "selected.bin"), Path.Combine("model", "weights.bin")]));

        // Once the run has started, its options are the plan: a shard with others is refused, as a shard of a training stage is.
        var afterStart = Run(Em(sharded, nbest: 3, distillBeam: 3, "--stage", "final/distill", "--shard", "0/3"));
        Assert.Equal(ExitCodes.Usage, afterStart.ExitCode);
        Assert.Contains("was started with different EM options", afterStart.Errors);
        var training = Run(Em(sharded, "--stage", "round1/nar", "--shard", "0/3"));
        Assert.Equal(ExitCodes.Usage, training.ExitCode);
        Assert.Contains("--stage round1/nar: it trains a model", training.Errors);
    }

    [Fact]
    public void ARunThatPausesAtEachUnfinishedPassLetsShardsDoEveryPassAndEndsAsTheOneProcessRun()
    {
        var one = OneProcessRun();
        var sharded = models.NewPath("em-paused");
        var pending = new List<string>();
        var (exitCode, output, errors) = Run(Em(sharded, "--pause-at-passes"));
        while (exitCode == 0 && output.Split('\n').FirstOrDefault(l => l.StartsWith("pending pass: ", StringComparison.Ordinal)) is { } line)
        {
            var pass = line["pending pass: ".Length..].Trim();
            pending.Add(pass);
            Assert.True(pending.Count <= 4, string.Join(", ", pending));
            var shards = Enumerable.Range(0, 2).Select(i => Start(Em(sharded, "--stage", pass, "--shard", $"{i}/2"))).ToArray();
            foreach (var shard in shards)
            {
                Assert.True(shard.WaitForExit(Patience));
                Assert.Equal(0, shard.ExitCode);
            }
            (exitCode, output, errors) = Run(Em(sharded, "--pause-at-passes", "--resume"));
        }

        Assert.True(exitCode == 0, errors);
        Assert.Equal(["round1/distill", "round1/nbest", "round1/scores", "final/distill"], pending);
        AssertSameFiles(one, sharded, [Path.Combine("round1", "selected.bin"), Path.Combine("round1", "nar", "checkpoint_best", "weights.bin"), Path.Combine("model", "weights.bin")]);
    }

    [Theory]
    [InlineData("em --stage round1/nbest", "--stage round1/nbest needs --shard i/n")]
    [InlineData("em --shard 0/2", "--shard needs --stage")]
    [InlineData("em --stage round9/nbest --shard 0/2", "--stage round9/nbest: not a stage of this run; its decoding passes are round1/distill, round1/nbest, round1/scores, final/distill")]
    [InlineData("em --stage round1/nbest --shard 2/2", "--shard 2/2: expected i/n with n ≥ 1 and 0 ≤ i < n")]
    [InlineData("train-nar --shard 0/2", "--shard needs --distill-from")]
    public void AShardWithoutItsPassOrOutsideItsRangeIsAUsageError(string command, string message)
    {
        var run = models.NewPath("usage");
        var arguments = command.Split(' ');
        string[] common = arguments[0] == "em"
            ? Em(run)
            : ["train-nar", "--data", models.Data.Directory, "--out", run, "--preset", "tiny", "--max-updates", "2", "--threads", "1"];

        var (exitCode, _, error) = TinyModels.Run([.. common, .. arguments.Skip(1)]);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains(message, error);
        Assert.False(Directory.Exists(run));
    }
}
