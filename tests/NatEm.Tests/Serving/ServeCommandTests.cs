using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using NatEm.Cli.Serving;

namespace NatEm.Tests.Serving;

/// <summary>
/// `natem serve` options through the real command in a child process: that the binder hands them to the server,
/// which the in-process <see cref="TranslationServer"/> tests cannot show.
/// </summary>
public sealed class ServeCommandTests(ServingModels models) : IClassFixture<ServingModels>, IDisposable
{
    private readonly string directory = SyntheticTask.TempDir();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task The_api_key_file_and_max_input_tokens_options_reach_the_server()
    {
        const string key = "wiring-k3y_0123456789";
        var keyFile = Path.Combine(directory, "api.key");
        File.WriteAllText(keyFile, key + "\n");
        var url = $"http://127.0.0.1:{ServeProcess.FreePort()}";
        using var serve = ServeProcess.Start(["--model", models.Nar.Directory, "--urls", url, "--api-key-file", keyFile, "--max-input-tokens", "3"], directory);
        Assert.Contains("API key required", await serve.WaitForLineAsync("natem: serving", TimeSpan.FromSeconds(90)));
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        var longText = string.Join(' ', models.Texts);

        using (var refused = await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = new[] { longText } }))
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(TranslationServer.MetricsPath)).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using (var translated = await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = new[] { longText } }))
            Assert.True(translated.StatusCode == HttpStatusCode.OK, await translated.Content.ReadAsStringAsync());

        // The text was cut, to the 3 tokens the option asked for.
        var metrics = await client.GetStringAsync(TranslationServer.MetricsPath);
        Assert.True(metrics.Contains("natem_truncated_inputs_total 1\n"), $"{metrics}\n{serve.Errors}");
        await serve.WaitForLineAsync("truncated to --max-input-tokens 3", TimeSpan.FromSeconds(10));
        Assert.Equal(0, serve.TerminateAndWait(TimeSpan.FromSeconds(30)));
    }
}
