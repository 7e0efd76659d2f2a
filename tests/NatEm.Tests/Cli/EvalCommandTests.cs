using System.Text.Json;
using NatEm.Decoding;
using NatEm.Evaluation;
using NatEm.Modeling;

namespace NatEm.Tests.Cli;

[Collection(TinyModelsCollection.Name)]
public sealed class EvalCommandTests(TinyModels models)
{
    private (JsonElement Json, string[] Hypotheses) Eval(string model, params string[] extra)
    {
        var hypotheses = models.NewPath("hyp.txt");
        var (exitCode, output, error) = TinyModels.Run(["eval", "--model", model, "--data", models.Data.Directory, "--json", "--output", hypotheses, .. extra]);
        Assert.True(exitCode == ExitCodes.Ok, error);
        using var json = JsonDocument.Parse(output);
        return (json.RootElement.Clone(), File.ReadAllText(hypotheses).Split('\n')[..^1]);
    }

    [Fact]
    public void NarJsonHasScoresOfTheWrittenHypothesesSpeedAndNarDiagnostics()
    {
        // fp32 like the library's default below (eval's default is bf16 where the CPU has it).
        var (json, hypotheses) = Eval(models.Nar, "--limit", "10", "--precision", "Fp32");

        var references = models.Data.Split("test").TargetText[..10];
        Assert.Equal(10, hypotheses.Length);
        Assert.Equal(10, json.GetProperty("sentences").GetInt32());
        Assert.Equal("test", json.GetProperty("split").GetString());
        Assert.Equal(new Bleu().CorpusScore(hypotheses, references).Score, json.GetProperty("bleu").GetDouble(), 9);
        Assert.Equal(new Chrf().CorpusScore(hypotheses, references).Score, json.GetProperty("chrf").GetDouble(), 9);
        Assert.True(json.GetProperty("seconds").GetDouble() > 0);
        Assert.True(json.GetProperty("sentences_per_second").GetDouble() > 0);
        Assert.True(json.GetProperty("target_tokens_per_second").GetDouble() >= 0);
        // The default NAR decoding (ODD at the top predicted length), redone through the library.
        var test = models.Data.Split("test").Take(10);
        var translations = Translator.For(ModelStore.Load(models.Nar)).TranslateIds(test.Source);
        Assert.Equal(translations.Select(t => t.Text), hypotheses);
        Assert.Equal(OutputStatistics.RepetitionRate(translations.Select(t => t.RawTokens!)), json.GetProperty("repetition_rate").GetDouble(), 9);
        Assert.Equal(OutputStatistics.LengthAccuracy([.. translations.Select(t => t.PredictedLength!.Value)], [.. test.Target.Select(t => t.Length)]),
            json.GetProperty("length_accuracy").GetDouble(), 9);
    }

    [Fact]
    public void ArJsonHasScoresButNoNarDiagnostics()
    {
        var (json, hypotheses) = Eval(models.Ar, "--split", "valid", "--beam", "2");

        var valid = models.Data.Split("valid");
        Assert.Equal(valid.Count, hypotheses.Length);
        Assert.Equal(new Bleu().CorpusScore(hypotheses, valid.TargetText).Score, json.GetProperty("bleu").GetDouble(), 9);
        Assert.True(json.TryGetProperty("chrf", out _));
        Assert.False(json.TryGetProperty("repetition_rate", out _));
        Assert.False(json.TryGetProperty("length_accuracy", out _));
    }
}
