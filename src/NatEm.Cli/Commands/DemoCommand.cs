using System.CommandLine;
using NatEm.Data;
using NatEm.Em;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Cli.Commands;

/// <summary>
/// `natem demo`: the main job on the bundled corpus. Prepares the Bible en→es data, runs EM with a budget
/// sized for about 22 minutes on 2 cores, then compares AR beam search with the EM-trained NAR model on the
/// test split. Rerunning continues an interrupted demo.
/// </summary>
public static class DemoCommand
{
    /// <summary>
    /// Demo settings: a subset of the training data so that decoding passes fit in the budget, and uniform-copy
    /// NAR models, which learn several times faster than the paper's placeholder input in minutes of training
    /// (BENCHMARKS.md, "NAR variants").
    /// </summary>
    public static readonly EmOptions DemoEm = new()
    {
        Architecture = new ArchitectureOptions { DecoderInput = NarDecoderInput.UniformCopy },
        Iterations = 1,
        NBest = 4,
        DistillBeam = 2,
        BudgetMinutes = 20,
        TrainLimit = 4000,
        ValidLimit = 200,
        ArTraining = new TrainingOptions { MaxEpochs = 50, ValidateEvery = 0, Patience = 3, WarmupUpdates = 300, LearningRate = 1e-3 },
        NarTraining = new TrainingOptions { MaxEpochs = 50, ValidateEvery = 0, Patience = 3, WarmupUpdates = 300, LearningRate = 1e-3 },
    };

    /// <summary>The final comparison times batch 64 only: per-sentence latency runs would not fit the demo's budget.</summary>
    private static readonly DecodingBenchmarkOptions DemoComparison = new() { BatchSizes = [64], Repeats = 1 };

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Demo directory (prepared data, EM run, results)", DefaultValueFactory = _ => "runs/demo" };
        var testLimit = new Option<int>("--test-limit") { Description = "Test sentences decoded for the final table", DefaultValueFactory = _ => 300 };
        var binder = new EmOptionsBinder();
        var command = new Command("demo", "Prepare the bundled Bible corpus, run EM (~22 min on 2 cores), compare AR and NAR on the test split");
        command.Options.Add(output);
        command.Options.Add(testLimit);
        binder.AddTo(command);
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            using var interrupts = new Interrupts();
            var dir = p.GetValue(output)!;
            var dataDir = Path.Combine(dir, "data");
            if (!File.Exists(Path.Combine(dataDir, DataManifest.FileName)))
                DataPreparer.Prepare(new PrepareOptions { OutputDirectory = dataDir }, null);
            var prepared = PreparedData.Load(dataDir);
            var runDir = Path.Combine(dir, "em");
            var report = EmCommand.Run(prepared, binder.Bind(p, DemoEm), runDir, resume: true, interrupts.Token);

            var test = prepared.Split("test").Take(p.GetValue(testLimit));
            var teacher = ModelStore.Load(report.FinalTeacher, ModelKind.Autoregressive);
            var nar = ModelStore.Load(report.FinalModel, ModelKind.NonAutoregressive);
            var comparison = DecodingBenchmark.Run(DecodingBenchmark.StandardDecoders(teacher, nar), test, DemoComparison);
            BenchCommand.PrintTable(comparison, $"Bible en→es test, first {test.Count} verses, {Environment.ProcessorCount} cores");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
