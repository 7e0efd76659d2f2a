using NatEm.Cli.Serving;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Tests.Cli;

namespace NatEm.Tests.Decoding;

/// <summary>Search widths and batch sizes are bounded by a memory estimate: over-large values are usage errors stating the limit.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class DecodingMemoryTests(TinyModels models)
{
    [Theory]
    [InlineData("--beam", "10000000")]
    [InlineData("--batch-size", "1000000000")]
    public void TranslateRejectsWidthsAndBatchesBeyondTheMemoryLimitBeforeDecoding(string option, string value)
    {
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", models.Ar, "--input", models.WriteLines("red cat"), option, value);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Equal("", output);
        Assert.StartsWith($"natem: error: {option} {value} needs about ", error);
        Assert.Contains("more than the memory limit of ", error);
        Assert.Contains($"the largest {option} that fits is ", error);
    }

    [Fact]
    public void MaxInputTokensIsBoundedByTheModelsPositions()
    {
        var (exitCode, _, error) = TinyModels.Run("translate", "--model", models.Nar, "--input", models.WriteLines("red cat"), "--max-input-tokens", "100000");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("--max-input-tokens 100000 exceeds the", error);
    }

    [Fact]
    public void ServeRejectsAnOverLargeBeamOnTheSameOptionsPath()
    {
        var model = ModelStore.Load(models.Ar);
        var options = new ServeOptions { Urls = "http://127.0.0.1:0", Decoding = new TranslationOptions { Beam = new BeamSearchOptions { Beam = 10_000_000 } } };

        var error = Assert.Throws<NatEmException>(() => TranslationServer.Create(model, options));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.StartsWith("--beam 10000000 needs about ", error.Message);
    }

    [Fact]
    public void BatchesOverTheMemoryBudgetAreSplitWithoutChangingTheTranslations()
    {
        // AR: its estimate grows with the input length (a NAR model's is set by its longest predictable target).
        var model = ModelStore.Load(models.Ar);
        string[] lines = ["red cat sees the dog", "a big fish eats", "blue bird", "the small dog sees a red fish", "cat"];
        var unbounded = Translator.For(model, new TranslationOptions { Beam = new BeamSearchOptions { Beam = 2 }, MaxInputTokens = 20 });
        var generator = unbounded.Generator;
        // Room for two inputs of 20 tokens at a time, so the five lines need at least three batches.
        var bounded = unbounded.With(unbounded.Options with { BatchSize = lines.Length, MemoryBudgetBytes = generator.BatchBytes(2, 2, 20) });
        Assert.True(generator.BatchBytes(lines.Length, 2, 20) > bounded.Options.MemoryBudgetBytes);

        var expected = unbounded.Translate(lines);

        Assert.Equal(expected.Select(t => t.Text), bounded.Translate(lines).Select(t => t.Text));
    }
}
