using System.Diagnostics;
using NatEm.IO;
using NatEm.Text;

namespace NatEm.Data;

public enum PrepareStage { Reading, LearningBpe, Encoding, Writing }

/// <summary>Progress of one stage: <see cref="Done"/> of <see cref="Total"/> units (inputs read, merges learned,
/// sentences encoded, files written).</summary>
public readonly record struct PrepareProgress(PrepareStage Stage, long Done, long Total);

/// <summary>What was prepared, and the wall-clock time of each stage.</summary>
public sealed record PrepareResult(DataManifest Manifest, IReadOnlyDictionary<PrepareStage, TimeSpan> Durations);

/// <summary>
/// Builds a prepared data directory (<see cref="PreparedData"/>): reads and normalizes the corpora, filters the
/// training split (<see cref="SentenceFilter"/>), learns joint BPE on the kept training sentences of both sides
/// (or loads a SentencePiece model), encodes every split and writes everything atomically, manifest last.
/// </summary>
public static class DataPreparer
{
    private const string Train = "train", Valid = "valid", Test = "test";

    public static PrepareResult Prepare(PrepareOptions options, IProgress<PrepareProgress>? progress = null)
    {
        options.Validate();
        var durations = new Dictionary<PrepareStage, TimeSpan>();
        var clock = Stopwatch.StartNew();
        void EndStage(PrepareStage stage)
        {
            durations[stage] = clock.Elapsed;
            clock.Restart();
        }

        var dir = options.OutputDirectory;
        var created = !Path.Exists(dir);
        using var claim = OutputDirectory.Claim(dir, PreparedData.OutputKind, options.Force);
        try
        {
            var inputs = ReadInputs(options, progress);
            EndStage(PrepareStage.Reading);
            DataManifest? manifest = null;
            // Everything is written beside the directory and moved in when complete, manifest last: a failure (a full
            // disk) leaves the directory as it was.
            AtomicFile.FillDirectory(dir, DataManifest.FileName, temp =>
            {
                var train = inputs[0];
                var textChecks = train.Source.Select((source, i) => SentenceFilter.CheckText(source, train.Target[i], options.Filter)).ToArray();
                var (tokenizer, tokenizerInfo) = CreateTokenizer(options, temp,
                    train.Source.Where((_, i) => textChecks[i] == DropReason.None).Concat(train.Target.Where((_, i) => textChecks[i] == DropReason.None)),
                    progress);
                EndStage(PrepareStage.LearningBpe);

                var encoder = new SplitEncoder(tokenizer, inputs.Sum(t => 2L * t.Count), progress);
                var splits = new List<(SplitStatistics Statistics, ParallelSplit Data)>
                {
                    encoder.EncodeTrain(train, textChecks, options.Filter),
                };
                splits.AddRange(inputs.Skip(1).Select(encoder.EncodeWhole));
                progress?.Report(new PrepareProgress(PrepareStage.Encoding, inputs.Sum(t => 2L * t.Count), inputs.Sum(t => 2L * t.Count)));
                EndStage(PrepareStage.Encoding);

                WriteSplits(temp, options, splits.Select(s => s.Data).ToList(), progress);
                manifest = new DataManifest(DataManifest.CurrentFormatVersion, options.SourceLanguage, options.TargetLanguage,
                    tokenizerInfo, options.Filter, [.. splits.Select(s => s.Statistics)], DataManifest.ToolVersion, DateTimeOffset.UtcNow);
                AtomicFile.WriteAllText(Path.Combine(temp, DataManifest.FileName),
                    System.Text.Json.JsonSerializer.Serialize(manifest, OnDiskJson.Options));
            });
            EndStage(PrepareStage.Writing);
            return new PrepareResult(manifest!, durations);
        }
        catch when (created)
        {
            // Leave no directory behind that this run created: it holds only the lock file.
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>The splits to prepare: train, then valid and test if present.</summary>
    private static List<NamedText> ReadInputs(PrepareOptions options, IProgress<PrepareProgress>? progress)
    {
        progress?.Report(new PrepareProgress(PrepareStage.Reading, 0, 1));
        List<NamedText> inputs;
        if (options.Train is null)
        {
            var bible = BibleCorpus.ReadSplits(options.SourceLanguage, options.TargetLanguage);
            inputs = [new(Train, bible.Train), new(Valid, bible.Valid), new(Test, bible.Test)];
        }
        else
        {
            var train = options.Train.Read(options.SourceLanguage, options.TargetLanguage);
            var valid = options.Valid?.Read(options.SourceLanguage, options.TargetLanguage);
            var test = options.Test?.Read(options.SourceLanguage, options.TargetLanguage);
            int validSize = valid is null ? options.ValidSize ?? PrepareOptions.DefaultHoldOut(train.Count) : 0;
            int testSize = test is null ? options.TestSize ?? PrepareOptions.DefaultHoldOut(train.Count) : 0;
            // Announced splits are written or the run fails now, not at training time.
            bool defaultHoldOut = valid is null && options.ValidSize is null || test is null && options.TestSize is null;
            if (defaultHoldOut && train.Count < PrepareOptions.MinimumPairsForDefaultHoldOut)
                throw NatEmException.In(train.Origin,
                    $"has {train.Count} sentence pairs; the default valid and test hold-out (5% each) needs at least {PrepareOptions.MinimumPairsForDefaultHoldOut}: "
                    + "give a larger corpus, --valid/--test files, or --valid-size/--test-size (0 for none)");
            if (validSize + testSize >= train.Count)
                throw NatEmException.In(train.Origin,
                    $"has {train.Count} sentence pairs, too few to hold out {validSize} for valid and {testSize} for test and keep some for training (the minimum is {validSize + testSize + 1})");
            var (heldValid, heldTest, rest) = HoldOut(train, validSize, testSize, options.HoldOutSeed);
            inputs = [new(Train, rest)];
            if ((valid ?? heldValid) is { } v) inputs.Add(new(Valid, v));
            if ((test ?? heldTest) is { } t) inputs.Add(new(Test, t));
        }
        progress?.Report(new PrepareProgress(PrepareStage.Reading, 1, 1));
        return inputs;
    }

    /// <summary>Splits off randomly chosen (seeded) pairs as valid and test; the rest stays in corpus order.</summary>
    private static (ParallelText? Valid, ParallelText? Test, ParallelText Train) HoldOut(ParallelText corpus, int validSize, int testSize, int seed)
    {
        if (validSize + testSize == 0) return (null, null, corpus);
        var shuffled = Enumerable.Range(0, corpus.Count).ToArray();
        new Random(seed).Shuffle(shuffled);
        ParallelText? Part(string name, int[] rows) => rows.Length == 0 ? null : new($"{corpus.Origin} ({rows.Length} pairs held out as {name}, seed {seed})",
            [.. rows.Order().Select(i => corpus.Source[i])], [.. rows.Order().Select(i => corpus.Target[i])]);
        var heldOut = shuffled[..(validSize + testSize)].ToHashSet();
        var train = Enumerable.Range(0, corpus.Count).Where(i => !heldOut.Contains(i)).ToArray();
        return (Part(Valid, shuffled[..validSize]), Part(Test, shuffled[validSize..(validSize + testSize)]),
            new(corpus.Origin, [.. train.Select(i => corpus.Source[i])], [.. train.Select(i => corpus.Target[i])]));
    }

    private sealed record NamedText(string Name, ParallelText Text)
    {
        public int Count => Text.Count;
        public string[] Source => Text.Source;
        public string[] Target => Text.Target;
    }

    private static (ISubwordTokenizer, TokenizerInfo) CreateTokenizer(
        PrepareOptions options, string dir, IEnumerable<string> trainingSentences, IProgress<PrepareProgress>? progress)
    {
        if (options.SentencePieceModel is { } modelPath)
        {
            var sentencePiece = SentencePieceSubwordTokenizer.Load(modelPath);
            AtomicFile.Write(Path.Combine(dir, SentencePieceSubwordTokenizer.ModelFileName), destination =>
            {
                using var source = File.OpenRead(modelPath);
                source.CopyTo(destination);
            });
            return (sentencePiece, new TokenizerInfo(TokenizerInfo.SentencePiece, sentencePiece.VocabSize, 0, 0,
                [SentencePieceSubwordTokenizer.ModelFileName]));
        }

        var model = BpeLearner.Learn(trainingSentences, options.Merges,
            progress is null ? null : new SynchronousProgress<int>(done => progress.Report(new PrepareProgress(PrepareStage.LearningBpe, done, options.Merges))));
        model.Save(dir);
        var bpe = BpeSubwordTokenizer.Load(dir);
        return (bpe, new TokenizerInfo(TokenizerInfo.Bpe, bpe.VocabSize, model.Merges.Count, options.Merges,
            [BpeSubwordTokenizer.VocabFileName, BpeSubwordTokenizer.MergesFileName]));
    }

    /// <summary>Encodes splits in parallel, reporting sentences done over all splits.</summary>
    private sealed class SplitEncoder(ISubwordTokenizer tokenizer, long totalSentences, IProgress<PrepareProgress>? progress)
    {
        private long _done;

        private int[][] EncodeAll(string[] texts)
        {
            var ids = new int[texts.Length][];
            Parallel.For(0, texts.Length, i =>
            {
                ids[i] = tokenizer.Encode(texts[i]);
                if (Interlocked.Increment(ref _done) % 2000 == 0)
                    progress?.Report(new PrepareProgress(PrepareStage.Encoding, Volatile.Read(ref _done), totalSentences));
            });
            return ids;
        }

        public (SplitStatistics, ParallelSplit) EncodeWhole(NamedText split)
        {
            var source = EncodeAll(split.Source);
            var target = EncodeAll(split.Target);
            var statistics = new SplitStatistics(split.Name, split.Text.Origin, Filtered: false, split.Count, split.Count,
                0, 0, 0, source.Sum(s => (long)s.Length), target.Sum(t => (long)t.Length));
            return (statistics, new ParallelSplit(split.Name, source, target, split.Source, split.Target));
        }

        /// <summary>Encodes the pairs that passed the text checks and drops those over the token limit.</summary>
        public (SplitStatistics, ParallelSplit) EncodeTrain(NamedText train, DropReason[] textChecks, FilterOptions filter)
        {
            var candidates = Enumerable.Range(0, train.Count).Where(i => textChecks[i] == DropReason.None).ToArray();
            var source = EncodeAll([.. candidates.Select(i => train.Source[i])]);
            var target = EncodeAll([.. candidates.Select(i => train.Target[i])]);
            Interlocked.Add(ref _done, 2L * (train.Count - candidates.Length));
            var kept = Enumerable.Range(0, candidates.Length)
                .Where(k => SentenceFilter.CheckTokens(source[k].Length, target[k].Length, filter) == DropReason.None).ToArray();
            if (kept.Length == 0)
                throw NatEmException.In(train.Text.Origin, "no training sentence pairs are left after filtering (empty, too long or length ratio)");

            var statistics = new SplitStatistics(train.Name, train.Text.Origin, Filtered: true, train.Count, kept.Length,
                DroppedEmpty: textChecks.Count(c => c == DropReason.Empty),
                DroppedTooLong: textChecks.Count(c => c == DropReason.TooLong) + candidates.Length - kept.Length,
                DroppedRatio: textChecks.Count(c => c == DropReason.Ratio),
                kept.Sum(k => (long)source[k].Length), kept.Sum(k => (long)target[k].Length));
            return (statistics, new ParallelSplit(train.Name,
                [.. kept.Select(k => source[k])], [.. kept.Select(k => target[k])],
                [.. kept.Select(k => train.Source[candidates[k]])], [.. kept.Select(k => train.Target[candidates[k]])]));
        }
    }

    private static void WriteSplits(string dir, PrepareOptions options, List<ParallelSplit> splits, IProgress<PrepareProgress>? progress)
    {
        var writes = splits.SelectMany(split => new Action[]
        {
            () => TokenIdFile.Write(Path.Combine(dir, PreparedData.SourceIdsFile(split.Name)), split.Source),
            () => TokenIdFile.Write(Path.Combine(dir, PreparedData.TargetIdsFile(split.Name)), split.Target),
            () => AtomicFile.WriteAllLines(Path.Combine(dir, PreparedData.TextFile(split.Name, options.SourceLanguage)), split.SourceText),
            () => AtomicFile.WriteAllLines(Path.Combine(dir, PreparedData.TextFile(split.Name, options.TargetLanguage)), split.TargetText),
        }).ToList();
        var done = 0;
        Parallel.ForEach(writes, write =>
        {
            write();
            progress?.Report(new PrepareProgress(PrepareStage.Writing, Interlocked.Increment(ref done), writes.Count));
        });
    }
}
