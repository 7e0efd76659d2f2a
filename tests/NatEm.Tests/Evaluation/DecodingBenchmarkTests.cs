using System.CommandLine;
using System.Text.Json;
using NatEm.Cli;
using NatEm.Cli.Commands;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Tests.Em;
using TorchSharp;

namespace NatEm.Tests.Evaluation;

public class DecodingBenchmarkTests
{
    /// <summary>Small probes: the test checks the plumbing, not this machine.</summary>
    private static readonly MachineSpeedOptions QuickProbes = new() { MatrixSize = 256, CopyElements = 1 << 20, Repeats = 2 };

    private static readonly Lazy<(PreparedData Data, string Ar, string Nar)> TinyModels = new(() =>
    {
        var data = TinyPreparedData.Create();
        return (data, TinyPreparedData.SaveUntrainedModel(data, ModelKind.Autoregressive, seed: 1, "ar"),
            TinyPreparedData.SaveUntrainedModel(data, ModelKind.NonAutoregressive, seed: 2, "nar"));
    });

    [Fact]
    public void BenchmarkMeasuresEveryDecoderAndWritesAParsableReport()
    {
        var (data, arDir, narDir) = TinyModels.Value;
        var ar = ModelStore.Load(arDir, ModelKind.Autoregressive);
        var nar = ModelStore.Load(narDir, ModelKind.NonAutoregressive);
        var test = data.Split("test").Take(6);
        var decoders = DecodingBenchmark.StandardDecoders(ar, nar);
        var options = new DecodingBenchmarkOptions { BatchSizes = [4, 1], UntimedSentences = 2, Repeats = 2 };

        var result = OnOneThread(() => DecodingBenchmark.Run(decoders, test, options, MachineSpeed.Measure(QuickProbes)));

        Assert.Equal(decoders.Select(d => d.Name), result.Decoders.Select(r => r.Name));
        Assert.True(result.Machine!.MatmulGflops > 0 && result.Machine.CopyGigabytesPerSecond > 0);
        foreach (var r in result.Decoders)
        {
            Assert.Equal([1, 4], r.Throughput.Select(t => t.BatchSize));
            Assert.All(r.Throughput, t => Assert.True(t.SentencesPerSecond > 0 && t.TargetTokensPerSecond > 0 && t.Seconds > 0));
            var latency = r.Latency!;
            Assert.True(latency.P50Ms > 0 && latency.P50Ms <= latency.P90Ms && latency.P90Ms <= latency.P99Ms, r.Name);
            Assert.True(r.FloorMs > 0 && r.LatencyOverFloor > 0 && r.PeakWorkingSetBytes > 0, r.Name);
            Assert.True(r.SpeedupAtBatch1 > 0 && r.SpeedupAtLargestBatch > 0, r.Name);
        }
        var byName = result.Decoders.ToDictionary(r => r.Name);
        Assert.Equal(1.0, byName[DecodingBenchmark.ArBeam4].SpeedupAtLargestBatch);
        // More work, more FLOPs: beam over greedy, length candidates over one, re-scoring on top.
        var flops = decoders.ToDictionary(d => d.Name, d => d.Translator.Generator.Cost(result.Data.MeanSourceTokens, result.Data.MeanTargetTokens).Flops);
        Assert.True(flops[DecodingBenchmark.ArBeam4] > flops["AR greedy"]);
        Assert.True(flops["NAR odd, length beam 3"] > flops["NAR odd"]);
        Assert.True(flops["NAR odd, length beam 3, AR re-scoring"] > flops["NAR odd, length beam 3"]);

        // BLEU of one decoder equals an independent translation and scoring of the split.
        var translations = Translator.For(nar, new TranslationOptions { BatchSize = 4 }).TranslateIds(test.Source);
        var expected = new Bleu().CorpusScore(translations.Select(t => t.Text).ToList(), test.TargetText).Score;
        Assert.Equal(expected, byName["NAR odd"].Bleu);

        var dir = SyntheticTask.TempDir();
        BenchmarkReportWriter.Write(dir, result);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, BenchmarkReportWriter.JsonFile)));
        var root = json.RootElement;
        Assert.True(root.GetProperty("environment").GetProperty("date").GetDateTimeOffset() > DateTimeOffset.Now.AddHours(-1));
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("environment").GetProperty("cores").GetInt32());
        Assert.True(root.GetProperty("environment").GetProperty("threads").GetInt32() >= 1);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("environment").GetProperty("torch_sharp").GetString()));
        Assert.Equal(result.Machine.MatmulGflops, root.GetProperty("machine").GetProperty("matmul_gflops").GetDouble());
        Assert.Equal(test.Count, root.GetProperty("data").GetProperty("sentences").GetInt32());
        var first = root.GetProperty("decoders")[0];
        Assert.Equal("AR greedy", first.GetProperty("name").GetString());
        foreach (var field in new[] { "bleu", "chrf", "peak_working_set_bytes", "speedup_at_batch1", "speedup_at_largest_batch", "floor_ms", "latency_over_floor" })
            Assert.True(first.TryGetProperty(field, out _), field);
        Assert.Equal(result.Decoders[0].Latency!.P99Ms, first.GetProperty("latency").GetProperty("p99_ms").GetDouble());
        Assert.Equal(2, first.GetProperty("throughput").GetArrayLength());
        Assert.True(first.GetProperty("throughput")[1].GetProperty("target_tokens_per_second").GetDouble() > 0);
        var png = File.ReadAllBytes(Path.Combine(dir, BenchmarkReportWriter.PlotFile));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        // bench.md: one table row per decoder, in order, with its BLEU as in the JSON.
        var rows = File.ReadAllLines(Path.Combine(dir, BenchmarkReportWriter.MarkdownFile)).Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| decoder", StringComparison.Ordinal)).ToList();
        Assert.Equal(result.Decoders.Select(d => d.Name), rows.Select(r => r.Split(" | ")[0][2..]));
        Assert.Equal(result.Decoders[0].Bleu.ToString("F2", System.Globalization.CultureInfo.InvariantCulture), rows[0].Split(" | ")[1]);
    }

    [Fact]
    public void FullGridGivesEveryNarDecoderEachVariantForEveryModel()
    {
        var (_, arDir, narDir) = TinyModels.Value;
        var ar = ModelStore.Load(arDir, ModelKind.Autoregressive);
        var nar = ModelStore.Load(narDir, ModelKind.NonAutoregressive);

        var grid = DecodingBenchmark.StandardDecoders(ar, [new BenchNarModel("NAR (a)", nar), new BenchNarModel("NAR (b)", nar)], fullGrid: true);

        Assert.Equal(2 + 2 * 9, grid.Count);
        Assert.Equal(["AR greedy", DecodingBenchmark.ArBeam4, "NAR (a) argmax", "NAR (a) argmax, length beam 3", "NAR (a) argmax, length beam 3, AR re-scoring"],
            grid.Take(5).Select(d => d.Name));
        var dedupRescored = grid.Single(d => d.Name == "NAR (b) dedup, length beam 3, AR re-scoring");
        Assert.Equal(NarDecoder.Dedup, dedupRescored.Translator.Options.Nar.Decoder);
        Assert.Equal(3, dedupRescored.Translator.Options.Nar.LengthBeam);
        Assert.NotNull(dedupRescored.Translator.Rescorer);
        Assert.Null(grid.Single(d => d.Name == "NAR (b) odd, length beam 3").Translator.Rescorer);
        Assert.Equal(["AR greedy", DecodingBenchmark.ArBeam4, "NAR argmax", "NAR odd", "NAR odd, length beam 3", "NAR odd, length beam 3, AR re-scoring"],
            DecodingBenchmark.StandardDecoders(ar, nar).Select(d => d.Name));
        Assert.Throws<NatEmException>(() => DecodingBenchmark.StandardDecoders(ar, [new BenchNarModel("x", nar), new BenchNarModel("x", nar)], fullGrid: false));
    }

    [Fact]
    public void ACtcModelsDecodersAreNamedByItsGeneratorOncePerVariant()
    {
        var (_, arDir, narDir) = TinyModels.Value;
        var ar = ModelStore.Load(arDir, ModelKind.Autoregressive);
        var nar = ModelStore.Load(narDir, ModelKind.NonAutoregressive);
        var ctc = nar with
        {
            Model = TranslationModels.Create(ModelKind.NonAutoregressive,
                nar.Model.Config with { NarLoss = NarLoss.Ctc, Upsample = 2, DecoderInput = NarDecoderInput.UniformCopy }, seed: 3),
        };

        // A CTC model ignores --decoder, so argmax and odd are one row, named as its generator describes itself.
        Assert.Equal(["AR greedy", DecodingBenchmark.ArBeam4, "NAR ctc", "NAR ctc, length beam 3", "NAR ctc, length beam 3, AR re-scoring"],
            DecodingBenchmark.StandardDecoders(ar, ctc).Select(d => d.Name));
        var grid = DecodingBenchmark.StandardDecoders(ar, [new BenchNarModel("NAR (len)", nar), new BenchNarModel("NAR (ctc)", ctc)], fullGrid: true);
        string[] variants = ["", ", length beam 3", ", length beam 3, AR re-scoring"];
        Assert.Equal([.. new[] { "argmax", "dedup", "odd" }.SelectMany(d => variants.Select(v => $"NAR (len) {d}{v}")), .. variants.Select(v => $"NAR (ctc) ctc{v}")],
            grid.Skip(2).Select(d => d.Name));
        Assert.All(grid.TakeLast(3), d => Assert.Same(ctc.Model, d.Translator.Model));
        Assert.NotNull(grid[^1].Translator.Rescorer);
    }

    [Fact]
    public void NarModelsAreLabelledWhenThereAreSeveral()
    {
        Assert.Equal([("NAR", "dir")], BenchCommand.ParseNarModels(["dir"]));
        Assert.Equal([("NAR (raw)", "a=b"), ("NAR (kd)", "c")], BenchCommand.ParseNarModels(["raw=a=b", "kd=c"]));
        Assert.Throws<NatEmException>(() => BenchCommand.ParseNarModels(["a", "kd=c"]));
        Assert.Throws<NatEmException>(() => BenchCommand.ParseNarModels(["=a"]));
    }

    [Fact]
    public void FloorMatchesAHandComputedConfig()
    {
        var config = new TransformerConfig { VocabSize = 10, ModelDim = 4, FeedForwardDim = 8, EncoderLayers = 1, DecoderLayers = 1, Heads = 1 };
        // NAR pass, 2 source tokens (+ eos: s = 3), 2 target positions.
        //   encoder: 2·3·(4·4² + 2·4·8) + 4·3²·4 = 768 + 144 = 912
        //   decoder: projections + feed-forward 2·2·(6·4² + 2·4·8) = 640, encoder attention 4·2·3·4 = 96,
        //            self-attention 4·2²·4 = 64, memory keys/values 2·3·2·4² = 192  → 992
        //   output: 2·2·4·10 = 160                                                 → 2064 FLOPs
        //   weights: encoder 4·16 + 2·32 = 128, decoder 6·16 + 2·32 + 2·16 = 192, output 40 → 360 floats = 1440 bytes
        var nar = DecoderCost.ParallelPass(config, sourceTokens: 2, targetPositions: 2);
        Assert.Equal(2064, nar.Flops);
        Assert.Equal(1440, nar.Bytes);

        // AR sentence, 3 steps, beam 2: per hypothesis, decoder 2·3·160 = 960 + encoder attention 4·3·3·4 = 144
        //   + self-attention 4·4·(1+2+3) = 96 + memory 192 = 1392, output 2·3·4·10 = 240 → 1632; ×2 + encoder 912 = 4176.
        //   weights: encoder 128 + memory projections 32 once, then 3 steps × (160 + 40) → 760 floats = 3040 bytes
        var ar = DecoderCost.ArSentence(config, sourceTokens: 2, steps: 3, beam: 2);
        Assert.Equal(4176, ar.Flops);
        Assert.Equal(3040, ar.Bytes);

        // 1000 FLOP/s and 1000 B/s: the NAR pass is compute-bound, the AR sentence too.
        var machine = new MachineSpeed(MatmulGflops: 1e-6, CopyGigabytesPerSecond: 1e-6);
        Assert.Equal(2.064, machine.FloorSeconds(nar), 9);
        Assert.Equal(4.176, machine.FloorSeconds(ar), 9);
        Assert.Equal(1.44, (machine with { MatmulGflops = 1 }).FloorSeconds(nar), 9); // bandwidth-bound on a fast processor
    }

    [Fact]
    public void PercentilesInterpolateBetweenRanks()
    {
        double[] oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(5.5, LatencyStatistics.Percentile(oneToTen, 50), 12);
        Assert.Equal(9.1, LatencyStatistics.Percentile(oneToTen, 90), 12);
        Assert.Equal(9.91, LatencyStatistics.Percentile(oneToTen, 99), 12);
        Assert.Equal(1, LatencyStatistics.Percentile(oneToTen, 0));
        Assert.Equal(10, LatencyStatistics.Percentile(oneToTen, 100));
        Assert.Equal(7, LatencyStatistics.Percentile([7.0], 99));

        var statistics = LatencyStatistics.From([30, 10, 20]);
        Assert.Equal(20, statistics.P50Ms, 12);
        Assert.Equal(28, statistics.P90Ms, 12);
        Assert.Equal(29.8, statistics.P99Ms, 12);
        Assert.Equal(20, statistics.MeanMs, 12);
    }

    [Fact]
    public void BenchCommandWritesItsReportAndRejectsAnArModelGivenAsNar()
    {
        var (data, arDir, narDir) = TinyModels.Value;
        var output = SyntheticTask.TempDir();
        string[] common = ["bench", "--data", data.Directory, "--limit", "3", "--untimed-sentences", "1", "--repeat", "1", "--out", output, "--ar", arDir];
        // By default bench also times bf16 where the CPU has it, which would double the decoder counts below.
        string[] fp32 = ["--precision", "Fp32"];

        Assert.Equal(ExitCodes.BadModel, Run([.. common, "--nar", arDir]));
        Assert.False(File.Exists(Path.Combine(output, BenchmarkReportWriter.JsonFile)));
        Assert.Equal(ExitCodes.Usage, Run([.. common, "--nar", narDir, "--batch-sizes", "1,x"]));
        Assert.Equal(ExitCodes.Usage, Run([.. common, "--nar", narDir, "--batch-sizes", "2,4"]));

        Assert.Equal(ExitCodes.Ok, OnOneThread(() => Run([.. common, .. fp32, "--nar", narDir, "--batch-sizes", "1,2", "--threads", "1"])));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, BenchmarkReportWriter.JsonFile)));
        Assert.Equal(1, json.RootElement.GetProperty("environment").GetProperty("threads").GetInt32());
        Assert.Equal(6, json.RootElement.GetProperty("decoders").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(output, BenchmarkReportWriter.PlotFile)));

        Assert.Equal(ExitCodes.Ok, OnOneThread(() => Run([.. common, .. fp32, "--nar", $"a={narDir}", "--nar", $"b={narDir}", "--full-grid", "--batch-sizes", "1", "--threads", "1"])));
        using var grid = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, BenchmarkReportWriter.JsonFile)));
        Assert.Equal(2 + 2 * 9, grid.RootElement.GetProperty("decoders").GetArrayLength());
        Assert.Equal(ExitCodes.Usage, Run([.. common, "--nar", narDir, "--nar", $"b={narDir}"]));

        // Both precisions: every decoder twice, the bf16 ones labelled; fp32 (the speedups' baseline) is always timed.
        Assert.Equal(ExitCodes.Usage, Run([.. common, "--nar", narDir, "--precision", "fp16"]));
        Assert.Equal(ExitCodes.Ok, OnOneThread(() => Run([.. common, "--nar", narDir, "--batch-sizes", "1", "--threads", "1", "--precision", "bf16"])));
        using var both = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, BenchmarkReportWriter.JsonFile)));
        var names = both.RootElement.GetProperty("decoders").EnumerateArray().Select(d => d.GetProperty("name").GetString()).ToList();
        Assert.Equal(12, names.Count);
        Assert.Equal(6, names.Count(n => n!.EndsWith(" (bf16)", StringComparison.Ordinal)));
        Assert.Contains("AR beam 4 (bf16)", names);
    }

    /// <summary>
    /// Runs at one libtorch thread, then restores the process-wide count: on a loaded machine a test's time then
    /// does not depend on what else competes for the cores.
    /// </summary>
    private static T OnOneThread<T>(Func<T> body)
    {
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            return body();
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    private static int Run(string[] args) =>
        NatEmCommandLine.Run(args, new InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter() });
}
