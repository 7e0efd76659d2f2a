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

        // The text (which serve may cut into sentences first) was cut to the 3 tokens the option asked for.
        var metrics = await client.GetStringAsync(TranslationServer.MetricsPath);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(metrics, @"^natem_truncated_inputs_total [1-9]\d*$", System.Text.RegularExpressions.RegexOptions.Multiline),
            $"{metrics}\n{serve.Errors}");
        await serve.WaitForLineAsync("truncated to --max-input-tokens 3", TimeSpan.FromSeconds(10));
        Assert.Equal(0, serve.TerminateAndWait(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Loadtest_drives_a_real_server_and_counts_what_the_server_answered()
    {
        const string key = "loadtest-k3y";
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { ApiKeys = [new ApiKeyEntry(key)] });
        await using var _ = server;
        var texts = Path.Combine(directory, "texts.txt");
        File.WriteAllLines(texts, models.Texts[..3]);
        string[] load = ["loadtest", "--url", server.Urls.Single(), "--texts", texts, "--clients", "3", "--requests", "12", "--texts-per-request", "2", "--json"];

        var (exitCode, output, error) = await Task.Run(() => Cli.TinyModels.Run([.. load, "--api-key", key])).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exitCode == ExitCodes.Ok, error);
        var result = System.Text.Json.JsonDocument.Parse(output).RootElement;
        Assert.Equal(12, result.GetProperty("requests").GetInt32());
        Assert.Equal(0, result.GetProperty("failed").GetInt32());
        Assert.Equal(24, result.GetProperty("sentences").GetInt32());
        Assert.True(result.GetProperty("p50_ms").GetDouble() <= result.GetProperty("p99_ms").GetDouble());
        // The server saw exactly those requests and translated their 24 texts.
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var metrics = await client.GetStringAsync(TranslationServer.MetricsPath);
        Assert.Contains("natem_http_requests_total{endpoint=\"/v1/translate\",status=\"200\"} 12\n", metrics);
        // Without the key every request is refused: a load test that measured nothing fails, saying why.
        var (refusedExit, _, refusedError) = await Task.Run(() => Cli.TinyModels.Run(load)).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(ExitCodes.Environment, refusedExit);
        Assert.Contains("401", refusedError);
    }
}
