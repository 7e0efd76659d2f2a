using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Tests.Cli;

namespace NatEm.Tests.Decoding;

/// <summary>
/// The package's entry point is a facade: it translates exactly as `natem translate` does with the same options, from
/// any number of threads at once, and refuses work once disposed.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class NatEmTranslatorTests(TinyModels models)
{
    private static readonly string[] Input = ["red cat sees the dog", "", "a big fish", "blue bird eats", "the small dog sees a red fish"];

    private static readonly NatEmTranslatorOptions Fp32 = new() { Precision = Precision.Fp32 };

    private string[] CliTranslations(string model, params string[] options)
    {
        var output = models.NewPath("out.txt");
        var (exitCode, _, error) = TinyModels.Run(["translate", "--model", model, "--input", models.WriteLines(Input), "--output", output, "--precision", "Fp32", .. options]);
        Assert.True(exitCode == ExitCodes.Ok, error);
        return File.ReadAllLines(output);
    }

    [Fact]
    public void It_translates_a_NAR_and_an_AR_model_as_natem_translate_does()
    {
        using (var nar = NatEmTranslator.Load(models.Nar, Fp32 with { Decoding = new() { Nar = new() { Decoder = NarDecoder.Argmax } } }))
        {
            Assert.Equal(ModelKind.NonAutoregressive, nar.Kind);
            Assert.Equal(CliTranslations(models.Nar, "--decoder", "argmax"), nar.Translate(Input));
        }
        using var ar = NatEmTranslator.Load(models.Ar, Fp32 with { Decoding = new() { Beam = new() { Beam = 2 }, BatchSize = 2 } });
        var translations = ar.Translate(Input);
        Assert.Equal(CliTranslations(models.Ar, "--beam", "2", "--batch-size", "2"), translations);
        Assert.Equal("", translations[1]);
        Assert.Equal(translations, ar.TranslateWithScores(Input).Select(t => t.Text));
    }

    [Fact]
    public void Concurrent_calls_on_one_translator_give_the_results_of_one_call()
    {
        using var translator = NatEmTranslator.Load(models.Nar, Fp32);
        var expected = translator.Translate(Input);
        var results = new string[8][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => results[i] = translator.Translate(Input));
        Assert.All(results, result => Assert.Equal(expected, result));
    }

    [Fact]
    public void A_disposed_translator_refuses_to_translate_and_disposing_again_does_nothing()
    {
        var translator = NatEmTranslator.Load(models.Ar, Fp32);
        translator.Dispose();
        translator.Dispose();
        Assert.Throws<ObjectDisposedException>(() => translator.Translate(Input));
    }

    [Fact]
    public void Bad_options_and_missing_models_are_one_line_errors_with_their_exit_codes()
    {
        var threads = Assert.Throws<NatEmException>(() => NatEmTranslator.Load(models.Nar, new() { Threads = 0 }));
        Assert.Equal(ExitCodes.Usage, threads.ExitCode);
        Assert.StartsWith("Threads must be between 1 and", threads.Message);

        var batch = Assert.Throws<NatEmException>(() => NatEmTranslator.Load(models.Nar, new() { Decoding = new() { BatchSize = 0 } }));
        Assert.Equal(ExitCodes.Usage, batch.ExitCode);

        var missing = Path.Combine(models.Scratch, "no-such-model");
        var notFound = Assert.Throws<NatEmException>(() => NatEmTranslator.Load(missing));
        Assert.Equal(ExitCodes.BadModel, notFound.ExitCode);
        Assert.Contains(missing, notFound.Message);
        Assert.DoesNotContain('\n', notFound.Message);
    }
}
