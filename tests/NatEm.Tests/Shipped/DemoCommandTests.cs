using System.Text.Json.Nodes;
using NatEm.Cli.Commands;
using NatEm.Decoding;
using NatEm.Evaluation;
using NatEm.Modeling;

namespace NatEm.Tests.Shipped;

/// <summary>`natem demo` end to end on the shipped models, reduced to a few verses so that it takes seconds.</summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly string directory = SyntheticTask.TempDir();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void The_demo_compares_the_shipped_models_on_the_first_verses_and_writes_its_report()
    {
        var output = Path.Combine(directory, "demo");

        string[] models = ["--ar", ShippedModelTests.RepositoryPath(DemoCommand.ShippedAr), "--nar", ShippedModelTests.RepositoryPath(DemoCommand.ShippedNar)];
        var (exitCode, _, error) = Cli.TinyModels.Run(["demo", "--out", output, "--verses", "6", .. models]);

        Assert.True(exitCode == ExitCodes.Ok, error);
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(output, BenchmarkReportWriter.JsonFile)))!;
        Assert.Equal(6, report["data"]!["sentences"]!.GetValue<int>());
        var decoders = report["decoders"]!.AsArray();
        Assert.Contains(decoders, d => d!["name"]!.GetValue<string>().StartsWith("AR beam 4", StringComparison.Ordinal));
        // The NAR's single-pass row, named as its generator describes itself ("NAR odd"; "NAR ctc" for a CTC model).
        var nar = ModelStore.Load(ShippedModelTests.RepositoryPath(DemoCommand.ShippedNar), ModelKind.NonAutoregressive);
        string singlePass = DecodingBenchmark.NarName(DecodingBenchmark.NarLabel, Translator.For(nar, new TranslationOptions { Nar = new NarDecodingOptions { Decoder = NarDecoder.Odd } }));
        Assert.Matches("^NAR [a-z]+$", singlePass);
        Assert.Contains(decoders, d => d!["name"]!.GetValue<string>() == singlePass);
        // Real translations: a broken model, tokenizer or decoder scores near 0 chrF (the shipped models reach 31-43).
        Assert.All(decoders, d => Assert.True(d!["chrf"]!.GetValue<double>() > 15, d!.ToJsonString()));
        Assert.True(new FileInfo(Path.Combine(output, BenchmarkReportWriter.PlotFile)).Length > 0);
        var (zeroExit, _, zeroError) = Cli.TinyModels.Run(["demo", "--out", output, "--verses", "0", .. models]);
        Assert.Equal(ExitCodes.Usage, zeroExit);
        Assert.Contains("--verses must be at least 1", zeroError);
    }
}
