using System.CommandLine;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Em;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Training;
using Spectre.Console;

namespace NatEm.Cli.Commands;

/// <summary>
/// `natem demo`, the main job. By default it loads the models shipped under <c>models/bible.en-es/</c> and compares
/// AR beam search with the NAR decoders on a fixed part of the Bible test split: quality, batch-1 latency,
/// batch-64 throughput, a few example verses and the plot (a few minutes). <c>--from-scratch</c> instead runs the
/// whole pipeline on the bundled corpus: prepare, EM with a budget of about 20 minutes, the same comparison.
/// </summary>
public static class DemoCommand
{
    public const string ShippedAr = "models/bible.en-es/ar", ShippedNar = "models/bible.en-es/nar";

    /// <summary>Every 4th verse of the test books: 315 verses drawn evenly from all eight books.</summary>
    public const int TestStride = 4;

    /// <summary>Verses (indices into the demo's test set) shown side by side.</summary>
    private static readonly int[] ExampleVerses = [3, 60, 120, 200, 290];

    /// <summary>
    /// From-scratch settings: a subset of the training data so that decoding passes fit in the budget, and uniform-copy
    /// NAR models, which learn several times faster than the paper's placeholder input in minutes of training
    /// (bench/log/2026-11-25-nar-variants.md).
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

    /// <summary>Batch 1 gives the latency and speedup a user of `translate` sees; batch 64 the throughput of a server.</summary>
    private static readonly DecodingBenchmarkOptions Comparison = new() { BatchSizes = [1, 64], Repeats = 1, UntimedSentences = 4 };

    public static Command Create()
    {
        var output = SharedOptions.Out("bench.json/.md/.png (and with --from-scratch the prepared data and the EM run)", "runs/demo");
        var fromScratch = new Option<bool>("--from-scratch") { Description = "Train the models instead: prepare the corpus and run EM (about 22 minutes on 2 cores); rerunning resumes" };
        var ar = new Option<string>("--ar") { Description = "AR model directory", DefaultValueFactory = _ => ShippedAr };
        var nar = new Option<string>("--nar") { Description = "NAR model directory", DefaultValueFactory = _ => ShippedNar };
        var verses = new Option<int?>("--verses") { Description = "Compare on the first N of the test verses only (a quick check; default: all)" };
        var binder = new EmOptionsBinder(DemoEm);
        var command = new Command("demo", "Compare the shipped AR and NAR Bible en→es models on the test split (or train them: --from-scratch)") { output, fromScratch, ar, nar, verses, binder.All };
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var dir = p.GetValue(output)!;
            LoadedModel teacher, student;
            ParallelSplit test;
            if (p.GetValue(fromScratch))
            {
                using var interrupts = new Interrupts();
                var dataDir = Path.Combine(dir, "data");
                if (!File.Exists(Path.Combine(dataDir, DataManifest.FileName)))
                    DataPreparer.Prepare(new PrepareOptions { OutputDirectory = dataDir }, null);
                var prepared = PreparedData.Load(dataDir);
                var report = EmCommand.Run(prepared, binder.Bind(p), Path.Combine(dir, "em"), resume: true, p.GetValue(binder.Training.Force), interrupts.Token);
                teacher = ModelStore.Load(report.FinalTeacher, ModelKind.Autoregressive);
                student = ModelStore.Load(report.FinalModel, ModelKind.NonAutoregressive);
                test = prepared.Split("test").EveryNth(TestStride);
            }
            else
            {
                if (binder.All.FirstOrDefault(o => p.GetResult(o) is { Implicit: false }) is { } trainingOption)
                    throw new NatEmException($"{trainingOption.Name} applies to training: use it with --from-scratch", ExitCodes.Usage);
                teacher = ShippedModel(p, p.GetValue(ar)!, ModelKind.Autoregressive);
                student = ShippedModel(p, p.GetValue(nar)!, ModelKind.NonAutoregressive);
                // Token ids are only comparable under one vocabulary (re-scoring feeds NAR outputs to the AR model).
                student.Manifest.Tokenizer.RequireSameVocabulary(teacher.Manifest.Tokenizer, student.Directory, "the NAR model", $"the AR model {teacher.Directory}");
                test = BibleTestVerses(teacher);
            }

            if (p.GetValue(verses) is { } count)
                test = count >= 1 ? test.Take(count) : throw new NatEmException("--verses must be at least 1", ExitCodes.Usage);
            AnsiConsole.MarkupLineInterpolated($"[grey]AR {teacher.Directory}, NAR {student.Directory}; timing {test.Count} test verses at batch 1 and 64…[/]");
            var comparison = DecodingBenchmark.Run(DecodingBenchmark.StandardDecoders(teacher, student), test, Comparison,
                progress: new SynchronousProgress<string>(name => AnsiConsole.MarkupLineInterpolated($"[grey]  {name}[/]")));
            BenchCommand.PrintTable(comparison, $"Bible en→es {test.Name}, {test.Count} verses, {Environment.ProcessorCount} cores");
            PrintExamples(teacher, student, test);
            BenchmarkReportWriter.Write(dir, comparison);
            AnsiConsole.MarkupLineInterpolated($"Written: {Path.Combine(dir, BenchmarkReportWriter.PlotFile)} and {BenchmarkReportWriter.JsonFile}, {BenchmarkReportWriter.MarkdownFile}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static LoadedModel ShippedModel(ParseResult p, string dir, ModelKind kind)
    {
        if (!Directory.Exists(dir))
            throw NatEmException.In(dir, "model directory not found: run the demo from the repository root, pass --ar/--nar, or train with --from-scratch", ExitCodes.BadModel);
        return ModelStore.Load(ModelArguments.Resolve(p, dir), kind);
    }

    /// <summary>The demo's test set from the bundled corpus's test books, encoded with the model's own tokenizer.</summary>
    public static ParallelSplit BibleTestVerses(LoadedModel model)
    {
        var text = BibleCorpus.ReadSplits("en", "es").Test;
        return new ParallelSplit("test", [.. text.Source.Select(model.Tokenizer.Encode)], [.. text.Target.Select(model.Tokenizer.Encode)],
            text.Source, text.Target).EveryNth(TestStride);
    }

    private static void PrintExamples(LoadedModel teacher, LoadedModel student, ParallelSplit test)
    {
        var shown = ExampleVerses.Where(i => i < test.Count).ToArray();
        var sources = shown.Select(i => test.Source[i]).ToArray();
        var arOutput = Translator.For(teacher, new TranslationOptions { Beam = new BeamSearchOptions { Beam = 4 } }).TranslateIds(sources);
        var nar = Translator.For(student, new TranslationOptions { Nar = new NarDecodingOptions { Decoder = NarDecoder.Odd } });
        var narOutput = nar.TranslateIds(sources);
        var table = new Table().AddColumns("source", "reference", "AR beam 4", DecodingBenchmark.NarName(DecodingBenchmark.NarLabel, nar));
        for (int k = 0; k < shown.Length; k++)
            table.AddRow(Markup.Escape(test.SourceText[shown[k]]), Markup.Escape(test.TargetText[shown[k]]), Markup.Escape(arOutput[k].Text), Markup.Escape(narOutput[k].Text));
        ConsoleTables.Write("Examples", table);
    }
}
