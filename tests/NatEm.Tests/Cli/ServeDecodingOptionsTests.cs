using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NatEm.Tests.Serving;

namespace NatEm.Tests.Cli;

/// <summary>`serve` binds its decoding options with the binder of `translate`, so a served request equals `translate` with the same flags.</summary>
[Collection(TinyModelsCollection.Name)]
public class ServeDecodingOptionsTests(TinyModels models)
{
    private string[] Texts => models.Data.Split("test").SourceText;

    [Theory]
    [InlineData("--decoder", "argmax", "--length-beam", "3")]
    [InlineData("--decoder", "ODD", "--length-beam", "3", "--rescore", "AR")]
    public async Task ARequestServedWithLengthBeamAndRescoreEqualsTranslateWithTheSameOptions(params string[] options)
    {
        var flags = options.Select(a => a == "AR" ? models.Ar : a).ToArray();
        var input = models.WriteLines(Texts);
        var (exitCode, expected, error) = TinyModels.Run(["translate", "--model", models.Nar, "--input", input, .. flags]);
        Assert.True(exitCode == ExitCodes.Ok, error);
        // The options change the translations, so a server that ignored them would fail below.
        var withoutRescoring = flags.TakeWhile(f => f != "--rescore").ToArray();
        var baseline = TinyModels.Run(["translate", "--model", models.Nar, "--input", input, .. flags.Length == withoutRescoring.Length ? [] : withoutRescoring]).Output;
        Assert.NotEqual(baseline, expected);

        int port = ServeProcess.FreePort();
        using var serve = ServeProcess.Start(["--model", models.Nar, "--urls", $"http://127.0.0.1:{port}", .. flags], models.Scratch);
        await serve.WaitForLineAsync("natem: serving", TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

        using var response = await client.PostAsJsonAsync("/v1/translate", new { texts = Texts });
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
        Assert.Equal(expected.Split('\n')[..^1], json.GetProperty("translations").EnumerateArray().Select(t => t.GetProperty("text").GetString()));
        var decoding = (await client.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("models")[0].GetProperty("decoding");
        Assert.Equal(3, decoding.GetProperty("length_beam").GetInt32());
        Assert.Equal(ExitCodes.Ok, serve.TerminateAndWait(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("translate")]
    [InlineData("eval")]
    [InlineData("serve")]
    public void DecoderNamesAreCaseInsensitiveAndABadOneIsAOneLineUsageErrorListingTheNames(string command)
    {
        string[] required = command == "eval" ? ["--data", models.Data.Directory] : [];
        var (exitCode, output, error) = TinyModels.Run([command, "--model", models.Nar, .. required, "--decoder", "best"]);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Equal("", output);
        Assert.Equal($"natem: error: --decoder must be Argmax, Dedup or Odd, not 'best' (see 'natem {command} --help')", error.TrimEnd());
        Assert.Equal(NatEm.Decoding.NarDecoder.Dedup, NatEm.Cli.EnumOptions.Parse<NatEm.Decoding.NarDecoder>("--decoder", "DEDUP"));
    }
}
