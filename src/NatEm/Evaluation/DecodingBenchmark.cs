using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Modeling;
using TorchSharp;

namespace NatEm.Evaluation;

/// <summary>A decoder under test: a name and the translator with its options (the batch size is set by the benchmark).</summary>
public sealed record BenchDecoder(string Name, Translator Translator);

/// <summary>A NAR model to benchmark and the label its decoders' names start with.</summary>
public sealed record BenchNarModel(string Label, LoadedModel Model);

/// <summary>Options of <see cref="DecodingBenchmark"/>.</summary>
public sealed record DecodingBenchmarkOptions
{
    /// <summary>
    /// Batch sizes timed. Batch 1 decodes each sentence alone and times it individually, which gives the latency
    /// percentiles and the floor ratio; leave 1 out to measure throughput only.
    /// </summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 8, 64];
    /// <summary>Sentences decoded untimed at each batch size before timing (loads caches, sizes allocator pools).</summary>
    public int UntimedSentences { get; init; } = 8;
    /// <summary>Timed runs at each batch size; the fastest counts.</summary>
    public int Repeats { get; init; } = 3;
    /// <summary>The decoder whose speed the others' speedups are relative to.</summary>
    public string Baseline { get; init; } = DecodingBenchmark.ArBeam4;

    public void Validate()
    {
        if (BatchSizes.Count == 0 || BatchSizes.Any(b => b < 1)) throw new NatEmException("--batch-sizes must list batch sizes of at least 1", ExitCodes.Usage);
        if (UntimedSentences < 0) throw new NatEmException("--untimed-sentences must be at least 0", ExitCodes.Usage);
        if (Repeats < 1) throw new NatEmException("--repeat must be at least 1", ExitCodes.Usage);
    }
}

/// <summary>Per-sentence decoding time at batch 1, in milliseconds.</summary>
public sealed record LatencyStatistics(double P50Ms, double P90Ms, double P99Ms, double MeanMs)
{
    public static LatencyStatistics From(IReadOnlyList<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();
        return new(Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 99), sorted.Average());
    }

    /// <summary>The p-th percentile of ascending values, linearly interpolated between ranks (numpy's default).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) throw new ArgumentException("no values", nameof(sorted));
        double rank = p / 100 * (sorted.Count - 1);
        int below = (int)Math.Floor(rank), above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}

/// <summary>Speed of the fastest timed run at one batch size.</summary>
public sealed record ThroughputResult(int BatchSize, double Seconds, double SentencesPerSecond, double TargetTokensPerSecond);

/// <summary>Everything measured for one decoder.</summary>
/// <param name="Name">The decoder's name.</param>
/// <param name="Bleu">sacreBLEU-compatible corpus BLEU of the largest-batch run.</param>
/// <param name="Chrf">sacreBLEU-compatible chrF of the same run.</param>
/// <param name="Latency">Batch-1 latency; null when batch 1 was not timed.</param>
/// <param name="Throughput">The fastest run at each batch size, ascending.</param>
/// <param name="PeakWorkingSetBytes">The process's peak working set after this decoder's runs (monotonic over the benchmark).</param>
/// <param name="SpeedupAtBatch1">Batch-1 sentences/s over the baseline's; null without batch 1.</param>
/// <param name="SpeedupAtLargestBatch">Sentences/s at the largest batch over the baseline's.</param>
/// <param name="FloorMs">Estimated least time per sentence (<see cref="DecoderCost"/>); null without machine speeds.</param>
/// <param name="LatencyOverFloor">Mean batch-1 latency divided by the floor.</param>
public sealed record DecoderBenchResult(
    string Name, double Bleu, double Chrf, LatencyStatistics? Latency, IReadOnlyList<ThroughputResult> Throughput,
    long PeakWorkingSetBytes, double? SpeedupAtBatch1, double? SpeedupAtLargestBatch, double? FloorMs, double? LatencyOverFloor)
{
    [JsonIgnore]
    public ThroughputResult AtLargestBatch => Throughput.MaxBy(t => t.BatchSize)!;
    public ThroughputResult? AtBatch(int batchSize) => Throughput.FirstOrDefault(t => t.BatchSize == batchSize);
}

/// <summary>Where and how the benchmark ran.</summary>
public sealed record BenchmarkEnvironment(DateTimeOffset Date, int Cores, string Os, string DotNet, string TorchSharp, int Threads)
{
    public static BenchmarkEnvironment Current() => new(DateTimeOffset.Now, Environment.ProcessorCount, RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
        torch.get_num_threads());
}

/// <summary>The split's size and mean lengths in subword tokens (without eos), which the floor estimate uses.</summary>
public sealed record SplitLengths(string Split, int Sentences, double MeanSourceTokens, double MeanTargetTokens)
{
    public static SplitLengths Of(ParallelSplit split) =>
        new(split.Name, split.Count, split.Source.Average(s => (double)s.Length), split.Target.Average(t => (double)t.Length));
}

public sealed record BenchmarkResult(BenchmarkEnvironment Environment, MachineSpeed? Machine, SplitLengths Data, string Baseline,
    IReadOnlyList<DecoderBenchResult> Decoders);

/// <summary>
/// Measures quality and speed of several decoders on one split in one process: BLEU/chrF, batch-1 latency
/// percentiles, throughput at each batch size (best of several runs after a warm-up), peak memory, speedups
/// over a baseline decoder and, given the machine's speeds, the ratio of latency to an estimated floor.
/// </summary>
public static class DecodingBenchmark
{
    public const string ArBeam4 = "AR beam 4";
    /// <summary>The label of a NAR model when only one is benchmarked.</summary>
    public const string NarLabel = "NAR";

    /// <summary>The decoders `natem bench` compares, from an AR and a NAR model over the same vocabulary.</summary>
    public static IReadOnlyList<BenchDecoder> StandardDecoders(LoadedModel ar, LoadedModel nar) =>
        StandardDecoders(ar, [new BenchNarModel(NarLabel, nar)], fullGrid: false);

    /// <summary>
    /// AR greedy and beam 4, then for each NAR model: argmax and odd alone, odd with a length beam of 3, with and
    /// without AR re-scoring. <paramref name="fullGrid"/> gives every NAR decoder (argmax, dedup, odd) all three
    /// variants instead. NAR decoders are named by <see cref="NarName"/>, and one its model's generator does not tell
    /// apart from an earlier one is left out: a CTC model, which ignores --decoder, gets one row per variant.
    /// </summary>
    public static IReadOnlyList<BenchDecoder> StandardDecoders(LoadedModel ar, IReadOnlyList<BenchNarModel> nars, bool fullGrid)
    {
        if (nars.Count == 0) throw new NatEmException("at least one NAR model is needed", ExitCodes.Usage);
        if (nars.GroupBy(n => n.Label).FirstOrDefault(g => g.Count() > 1) is { } repeated)
            throw new NatEmException($"NAR model label '{repeated.Key}' is given twice", ExitCodes.Usage);
        var decoders = new List<BenchDecoder>
        {
            new("AR greedy", Translator.For(ar, new TranslationOptions { Beam = BeamSearchOptions.Greedy })),
            new(ArBeam4, Translator.For(ar, new TranslationOptions { Beam = new BeamSearchOptions { Beam = 4 } })),
        };
        NarDecoder[] narDecoders = fullGrid ? [NarDecoder.Argmax, NarDecoder.Dedup, NarDecoder.Odd] : [NarDecoder.Argmax, NarDecoder.Odd];
        foreach (var (label, nar) in nars)
        {
            // Names start with the model's label, so an equal name is an equal decoder of the same model.
            void Add(Translator translator)
            {
                string name = NarName(label, translator);
                if (decoders.All(d => d.Name != name)) decoders.Add(new(name, translator));
            }
            foreach (var decoder in narDecoders)
            {
                var plain = new NarDecodingOptions { Decoder = decoder };
                Add(Translator.For(nar, new TranslationOptions { Nar = plain }));
                if (!fullGrid && decoder != NarDecoder.Odd) continue;
                var lengthBeam3 = new TranslationOptions { Nar = plain with { LengthBeam = 3 } };
                Add(Translator.For(nar, lengthBeam3));
                Add(Translator.For(nar, lengthBeam3, rescorer: ar.Model));
            }
        }
        return decoders;
    }

    /// <summary>
    /// A NAR decoder's name from its generator's own description, so that it says what decodes (a CTC model's is "ctc",
    /// whatever --decoder was): the label, the decoder, the length beam when wider than 1, and any AR re-scoring;
    /// e.g. "NAR odd", "NAR odd, length beam 3, AR re-scoring".
    /// </summary>
    public static string NarName(string label, Translator translator)
    {
        var generator = translator.Generator;
        var description = generator.DescribeOptions();
        string decoder = description.Decoder ?? throw new ArgumentException("not a NAR decoder", nameof(translator));
        string name = $"{label} {(generator.Width.Value == 1 ? decoder : description.Phrase)}";
        return translator.Rescorer is null ? name : $"{name}, AR re-scoring";
    }

    /// <summary>Runs the benchmark on the calling thread; <paramref name="machine"/> enables the floor estimate.</summary>
    public static BenchmarkResult Run(IReadOnlyList<BenchDecoder> decoders, ParallelSplit split, DecodingBenchmarkOptions options,
        MachineSpeed? machine = null, IProgress<string>? progress = null)
    {
        options.Validate();
        if (split.Count == 0) throw new NatEmException($"split '{split.Name}' has no sentences to decode", ExitCodes.Usage);
        if (decoders.All(d => d.Name != options.Baseline))
            throw new NatEmException($"baseline decoder '{options.Baseline}' is not among the decoders", ExitCodes.Usage);
        using var _ = torch.no_grad();
        var lengths = SplitLengths.Of(split);
        var results = decoders.Select(decoder =>
        {
            progress?.Report(decoder.Name);
            return Measure(decoder, split, options, lengths, machine);
        }).ToList();

        // Speedups need every decoder's speed, so they are filled in last.
        var baseline = results.Single(r => r.Name == options.Baseline);
        results = results.Select(r => r with
        {
            SpeedupAtBatch1 = r.AtBatch(1)?.SentencesPerSecond / baseline.AtBatch(1)?.SentencesPerSecond,
            SpeedupAtLargestBatch = r.AtLargestBatch.SentencesPerSecond / baseline.AtLargestBatch.SentencesPerSecond,
        }).ToList();
        return new BenchmarkResult(BenchmarkEnvironment.Current(), machine, lengths, options.Baseline, results);
    }

    private static DecoderBenchResult Measure(BenchDecoder decoder, ParallelSplit split, DecodingBenchmarkOptions options,
        SplitLengths lengths, MachineSpeed? machine)
    {
        var warmup = split.Source.Take(options.UntimedSentences).ToList();
        LatencyStatistics? latency = null;
        Translation[] largestBatchOutput = [];
        var throughput = new List<ThroughputResult>();
        foreach (int batchSize in options.BatchSizes.Distinct().Order())
        {
            var translator = decoder.Translator.WithBatchSize(batchSize);
            Decode(translator, warmup);
            var best = Enumerable.Range(0, options.Repeats)
                .Select(_ => batchSize == 1 ? TimeEachSentence(translator, split.Source) : TimeWhole(translator, split.Source))
                .MinBy(run => run.Seconds)!;
            if (batchSize == 1) latency = LatencyStatistics.From(best.SentenceMilliseconds!);
            largestBatchOutput = best.Output;
            long targetTokens = best.Output.Sum(t => (long)t.Tokens.Length);
            throughput.Add(new ThroughputResult(batchSize, best.Seconds, split.Count / best.Seconds, targetTokens / best.Seconds));
        }
        using var process = Process.GetCurrentProcess();
        double? floorMs = machine is null
            ? null
            : 1000 * machine.FloorSeconds(decoder.Translator.Generator.Cost(lengths.MeanSourceTokens, lengths.MeanTargetTokens));

        var (bleu, chrf) = Score(largestBatchOutput, split);
        return new DecoderBenchResult(decoder.Name, bleu, chrf, latency, throughput, process.PeakWorkingSet64,
            SpeedupAtBatch1: null, SpeedupAtLargestBatch: null, floorMs, latency?.MeanMs / floorMs);
    }

    /// <summary>Decodes the whole split once at the translator's batch size, after a warm-up: the figures `natem eval` reports.</summary>
    public static (Translation[] Output, double Seconds) DecodeOnce(Translator translator, ParallelSplit split, int warmupSentences = 8)
    {
        using var _ = torch.no_grad();
        Decode(translator, split.Source.Take(warmupSentences).ToList());
        var run = TimeWhole(translator, split.Source);
        return (run.Output, run.Seconds);
    }

    /// <summary>sacreBLEU-compatible corpus BLEU and chrF of translations in split order against the split's references.</summary>
    public static (double Bleu, double Chrf) Score(IReadOnlyList<Translation> output, ParallelSplit split)
    {
        var hypotheses = output.Select(t => t.Text).ToList();
        return (new Bleu().CorpusScore(hypotheses, split.TargetText).Score, new Chrf().CorpusScore(hypotheses, split.TargetText).Score);
    }

    private sealed record TimedRun(Translation[] Output, double Seconds, double[]? SentenceMilliseconds);

    private static TimedRun TimeWhole(Translator translator, IReadOnlyList<int[]> sources)
    {
        var watch = Stopwatch.StartNew();
        var output = Decode(translator, sources);
        return new TimedRun(output, watch.Elapsed.TotalSeconds, null);
    }

    /// <summary>Batch 1: each sentence decoded alone and timed on its own, so that latency percentiles are real per-sentence times.</summary>
    private static TimedRun TimeEachSentence(Translator translator, IReadOnlyList<int[]> sources)
    {
        var output = new Translation[sources.Count];
        var milliseconds = new double[sources.Count];
        for (int i = 0; i < sources.Count; i++)
        {
            var watch = Stopwatch.StartNew();
            output[i] = Decode(translator, [sources[i]])[0];
            milliseconds[i] = watch.Elapsed.TotalMilliseconds;
        }
        return new TimedRun(output, milliseconds.Sum() / 1000, milliseconds);
    }

    private static Translation[] Decode(Translator translator, IReadOnlyList<int[]> sources)
    {
        using var scope = torch.NewDisposeScope();
        return translator.TranslateIds(sources);
    }
}
