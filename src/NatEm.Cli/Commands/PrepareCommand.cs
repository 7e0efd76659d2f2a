using System.CommandLine;
using System.Globalization;
using NatEm.Data;
using Spectre.Console;

namespace NatEm.Cli.Commands;

/// <summary>`natem prepare`: normalize, filter, learn BPE, encode and write a prepared data directory.</summary>
public static class PrepareCommand
{
    public static Command Create()
    {
        var corpus = new Option<string>("--corpus") { Description = "Training corpus as UTF-8 TSV (.tsv or .tsv.gz) with a header naming the columns; default: the bundled Bible with its book split" };
        var trainSource = new Option<string>("--train-src") { Description = "Training source sentences, one per line (with --train-tgt)" };
        var trainTarget = new Option<string>("--train-tgt") { Description = "Training target sentences, one per line" };
        var valid = new Option<string>("--valid") { Description = "Validation corpus as TSV" };
        var validSource = new Option<string>("--valid-src") { Description = "Validation source sentences (with --valid-tgt)" };
        var validTarget = new Option<string>("--valid-tgt") { Description = "Validation target sentences" };
        var test = new Option<string>("--test") { Description = "Test corpus as TSV" };
        var testSource = new Option<string>("--test-src") { Description = "Test source sentences (with --test-tgt)" };
        var testTarget = new Option<string>("--test-tgt") { Description = "Test target sentences" };
        var flags = new RecordOptions<PrepareOptions>(new() { OutputDirectory = "" })
        {
            { "--valid-size", "Without --valid: sentence pairs held out of --corpus at random as the valid split (default 5%, at most 1,000; 0 = none)", o => o.ValidSize, (o, v) => o with { ValidSize = v } },
            { "--test-size", "Without --test: sentence pairs held out of --corpus at random as the test split (default 5%, at most 1,000; 0 = none)", o => o.TestSize, (o, v) => o with { TestSize = v } },
            { "--split-seed", "Seed of the random hold-out", o => o.HoldOutSeed, (o, v) => o with { HoldOutSeed = v } },
            { "--src", "Source language: TSV column and file extension", o => o.SourceLanguage, (o, v) => o with { SourceLanguage = v } },
            { "--tgt", "Target language: TSV column and file extension", o => o.TargetLanguage, (o, v) => o with { TargetLanguage = v } },
            { "--merges", "Joint BPE merges to learn", o => o.Merges, (o, v) => o with { Merges = v } },
            { "--spm-model", "Use this SentencePiece .model instead of learning BPE", o => o.SentencePieceModel, (o, v) => o with { SentencePieceModel = v } },
            { "--max-length", "Drop training pairs longer than this many subword tokens", o => o.Filter.MaxTokens, (o, v) => o with { Filter = o.Filter with { MaxTokens = v } } },
            { "--max-ratio", "Drop training pairs whose word counts differ by more than this factor", o => o.Filter.MaxLengthRatio, (o, v) => o with { Filter = o.Filter with { MaxLengthRatio = v } } },
        };
        var output = SharedOptions.Out("the prepared data (an earlier prepared directory there is replaced)");
        var force = SharedOptions.Force("prepared data (files of the same names are replaced)");

        var command = new Command("prepare", "Normalize, filter and BPE-encode a parallel corpus into a prepared data directory")
            { corpus, trainSource, trainTarget, valid, validSource, validTarget, test, testSource, testTarget, flags, output, force };

        command.SetAction(parseResult => CliErrors.Run(parseResult, () =>
        {
            CorpusInput? Input(Option<string> tsv, Option<string> sourceFile, Option<string> targetFile)
            {
                string? tsvPath = parseResult.GetValue(tsv), sourcePath = parseResult.GetValue(sourceFile), targetPath = parseResult.GetValue(targetFile);
                if (tsvPath is not null && (sourcePath ?? targetPath) is not null)
                    throw new NatEmException($"give either {tsv.Name} or {sourceFile.Name}/{targetFile.Name}, not both", ExitCodes.Usage);
                if ((sourcePath is null) != (targetPath is null))
                    throw new NatEmException($"{sourceFile.Name} and {targetFile.Name} must be given together", ExitCodes.Usage);
                return tsvPath is not null ? new CorpusInput.Tsv(tsvPath)
                    : sourcePath is not null ? new CorpusInput.FilePair(sourcePath, targetPath!)
                    : null;
            }

            var options = flags.Apply(parseResult) with
            {
                OutputDirectory = parseResult.GetValue(output)!,
                Force = parseResult.GetValue(force),
                Train = Input(corpus, trainSource, trainTarget),
                Valid = Input(valid, validSource, validTarget),
                Test = Input(test, testSource, testTarget),
            };
            options.Validate();
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(parseResult.InvocationConfiguration.Output) }).Unwrapped();
            parseResult.InvocationConfiguration.Output.WriteLine(SplitNote(options));
            var result = RunWithProgress(console, options);
            PrintStatistics(console, result, options.OutputDirectory);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Says where valid and test come from, in particular whether the bundled Bible's book split is used.</summary>
    private static string SplitNote(PrepareOptions options)
    {
        if (options.Train is null) return $"Corpus: the bundled Bible ({BibleCorpus.FileName}) with its fixed book split into train, valid and test.";
        var bundled = options.Train is CorpusInput.Tsv tsv && Path.GetFileName(tsv.Path) == BibleCorpus.FileName
            ? " This is the bundled Bible, but given as --corpus its book split is not used; omit --corpus to use it."
            : "";
        string From(CorpusInput? file, int? size, string name) => file is not null ? $"{name} from its own file"
            : size == 0 ? $"no {name} split" : $"{name} held out at random (--{name}-size {(size is { } n ? n.ToString(CultureInfo.InvariantCulture) : "default: 5%, at most 1,000")})";
        return $"Splits: {From(options.Valid, options.ValidSize, "valid")}, {From(options.Test, options.TestSize, "test")}.{bundled}";
    }

    private static readonly IReadOnlyDictionary<PrepareStage, string> StageNames = new Dictionary<PrepareStage, string>
    {
        [PrepareStage.Reading] = "Reading and normalizing",
        [PrepareStage.LearningBpe] = "Learning BPE",
        [PrepareStage.Encoding] = "Encoding",
        [PrepareStage.Writing] = "Writing",
    };

    private static PrepareResult RunWithProgress(IAnsiConsole console, PrepareOptions options)
    {
        if (!ConsoleProgress.IsLive(console))
        {
            var lines = Enum.GetValues<PrepareStage>().ToDictionary(stage => stage, stage => new PercentLines(StageNames[stage], console.Profile.Out.Writer));
            return DataPreparer.Prepare(options, new SynchronousProgress<PrepareProgress>(report => lines[report.Stage].Report(report.Done, report.Total)));
        }
        PrepareResult? result = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var tasks = Enum.GetValues<PrepareStage>()
                    .Where(stage => stage != PrepareStage.LearningBpe || options.SentencePieceModel is null)
                    .ToDictionary(stage => stage, stage => context.AddTask(StageNames[stage], autoStart: false));
                var gate = new object();
                var progress = new SynchronousProgress<PrepareProgress>(report =>
                {
                    // Reports come from worker threads; finish earlier stages when a later one starts.
                    lock (gate)
                    {
                        foreach (var (_, task) in tasks.Where(t => t.Key < report.Stage && !t.Value.IsFinished))
                        {
                            task.Value = task.MaxValue;
                            task.StopTask();
                        }
                        var current = tasks[report.Stage];
                        current.StartTask();
                        current.MaxValue = Math.Max(1, report.Total);
                        current.Value = Math.Max(current.Value, report.Done);
                    }
                });
                result = DataPreparer.Prepare(options, progress);
                foreach (var task in tasks.Values)
                {
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            });
        return result!;
    }

    private static void PrintStatistics(IAnsiConsole console, PrepareResult result, string directory)
    {
        var manifest = result.Manifest;
        var table = new Table().AddColumns("split", "read", "kept", "dropped: empty", "too long", "ratio",
            $"mean {manifest.SourceLanguage} tokens", $"mean {manifest.TargetLanguage} tokens");
        foreach (var split in manifest.Splits)
        {
            string Dropped(int count) => split.Filtered ? Count(count) : "–";
            table.AddRow(split.Name, Count(split.Read), Count(split.Kept), Dropped(split.DroppedEmpty), Dropped(split.DroppedTooLong),
                Dropped(split.DroppedRatio), split.MeanSourceTokens.ToString("F1", CultureInfo.InvariantCulture),
                split.MeanTargetTokens.ToString("F1", CultureInfo.InvariantCulture));
        }
        console.Write(table);

        var tokenizer = manifest.Tokenizer;
        var kind = tokenizer.Kind == TokenizerInfo.Bpe
            ? $"joint BPE, {Count(tokenizer.Merges)} of {Count(tokenizer.RequestedMerges)} merges"
            : "SentencePiece model";
        console.MarkupLineInterpolated($"Vocabulary: {Count(tokenizer.VocabSize)} tokens ({kind})");
        var total = result.Durations.Values.Aggregate(TimeSpan.Zero, (sum, d) => sum + d);
        console.MarkupLineInterpolated(
            $"Time: {string.Join(", ", result.Durations.Select(d => $"{StageNames[d.Key]} {Seconds(d.Value)}"))}; total {Seconds(total)}");
        console.MarkupLineInterpolated($"Prepared data written to {directory}");
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s";
}
