using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using NatEm.Cli;
using NatEm.Cli.Commands;
using NatEm.Cli.Serving;
using NatEm.Decoding;
using NatEm.Serving;
using NatEm.Tests.Cli;

namespace NatEm.Tests.Serving;

/// <summary>What makes `natem serve` safe to run: JSON errors everywhere, strict content types, honest limits and addresses.</summary>
public class ServeSafetyTests(ServingModels models) : IClassFixture<ServingModels>
{
    private static async Task<JsonElement> ErrorJson(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {body}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        var json = JsonDocument.Parse(body).RootElement;
        Assert.False(string.IsNullOrEmpty(json.GetProperty("error").GetString()));
        return json;
    }

    [Fact]
    public async Task Unknown_paths_and_wrong_methods_get_json_errors()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;

        Assert.Contains("/nowhere", (await ErrorJson(await client.GetAsync("/nowhere"), HttpStatusCode.NotFound)).GetProperty("error").GetString());
        using var wrongMethod = await client.GetAsync(TranslationServer.TranslatePath);
        Assert.Contains("POST", (await ErrorJson(wrongMethod, HttpStatusCode.MethodNotAllowed)).GetProperty("error").GetString());
        Assert.Contains("POST", wrongMethod.Content.Headers.Allow);
        await ErrorJson(await client.DeleteAsync(TranslationServer.HealthPath), HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task A_post_that_is_not_json_is_unsupported_media_type()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;
        const string body = "{\"texts\": [\"red cat\"]}";

        // What a cross-site HTML form or a no-preflight fetch can send.
        foreach (var mediaType in new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data" })
        {
            using var content = new StringContent(body, Encoding.UTF8, mediaType);
            Assert.Contains("application/json", (await ErrorJson(await client.PostAsync(TranslationServer.TranslatePath, content), HttpStatusCode.UnsupportedMediaType)).GetProperty("error").GetString());
        }
        using var untyped = new StringContent(body);
        untyped.Headers.ContentType = null;
        await ErrorJson(await client.PostAsync(TranslationServer.TranslatePath, untyped), HttpStatusCode.UnsupportedMediaType);
        using var json = new StringContent(body, Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(TranslationServer.TranslatePath, json)).StatusCode);
    }

    [Fact]
    public async Task Max_chars_counts_code_points_not_utf16_units()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { MaxChars = 1500 });
        await using var _ = server;
        string Emoji(int count) => string.Concat(Enumerable.Repeat("\U0001F600", count));

        using var fits = await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = new[] { Emoji(1500) } });
        Assert.True(fits.StatusCode == HttpStatusCode.OK, await fits.Content.ReadAsStringAsync());
        var tooLong = await ErrorJson(await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = new[] { Emoji(1501) } }), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("1501 characters", tooLong.GetProperty("error").GetString());
    }

    [Fact]
    public void A_port_in_use_is_a_one_line_error_naming_the_address()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)occupant.LocalEndpoint).Port}";

        var (exitCode, _, error) = TinyModels.Run("serve", "--model", models.Nar.Directory, "--urls", url);

        Assert.Equal(ExitCodes.Environment, exitCode);
        Assert.Matches($"^natem: error: cannot listen on {url}: .*in use.*\n$", error);
    }

    [Theory]
    [InlineData("notaurl")]
    [InlineData("ftp://127.0.0.1:5080")]
    [InlineData("http://127.0.0.1:99999")]
    [InlineData("http://127.0.0.1:5080/prefix")]
    [InlineData("https://127.0.0.1:5080")]
    [InlineData("http://example.com:5080")]
    public void A_url_that_is_not_a_listen_address_is_a_usage_error_naming_it(string url)
    {
        var (exitCode, _, error) = TinyModels.Run("serve", "--model", models.Nar.Directory, "--urls", url);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Matches($"^natem: error: --urls: '{System.Text.RegularExpressions.Regex.Escape(url)}' .*\n$", error);
    }

    [Fact]
    public async Task An_api_key_guards_v1_and_metrics_but_not_healthz()
    {
        const string key = "k3y-for-tests_0123456789";
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { ApiKeys = [new ApiKeyEntry(key)] });
        await using var _ = server;
        HttpRequestMessage Request(HttpMethod method, string path, string? token)
        {
            var request = new HttpRequestMessage(method, path);
            if (method == HttpMethod.Post) request.Content = JsonContent.Create(new { texts = new[] { "red cat" } });
            if (token is not null) request.Headers.Authorization = new("Bearer", token);
            return request;
        }

        foreach (var (method, path) in new[] { (HttpMethod.Post, TranslationServer.TranslatePath), (HttpMethod.Get, TranslationServer.ModelsPath), (HttpMethod.Get, TranslationServer.MetricsPath) })
        {
            foreach (var wrong in new[] { null, "", "k3y", key + "x", key.ToUpperInvariant() })
            {
                using var refused = await client.SendAsync(Request(method, path, wrong));
                Assert.Contains("API key", (await ErrorJson(refused, HttpStatusCode.Unauthorized)).GetProperty("error").GetString());
                Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
            }
            using var allowed = await client.SendAsync(Request(method, path, key));
            Assert.True(allowed.StatusCode == HttpStatusCode.OK, $"{method} {path}: {allowed.StatusCode}");
        }
        // The scheme is case-insensitive (RFC 9110); a Basic header is not a bearer token.
        using (var lower = new HttpRequestMessage(HttpMethod.Get, TranslationServer.ModelsPath) { Headers = { { "Authorization", $"bearer {key}" } } })
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(lower)).StatusCode);
        using (var basic = new HttpRequestMessage(HttpMethod.Get, TranslationServer.ModelsPath) { Headers = { Authorization = new("Basic", key) } })
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(basic)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(TranslationServer.HealthPath)).StatusCode);
    }

    [Fact]
    public void The_api_key_comes_from_one_option_or_a_file_that_holds_it()
    {
        var directory = SyntheticTask.TempDir();
        string Write(string name, string text)
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, text);
            return path;
        }
        var serve = new ApiKeyOptions("key");
        var command = new System.CommandLine.Command("serve");
        serve.AddTo(command);
        string? Bind(params string[] args) => serve.Bind(command.Parse(args));

        Assert.Null(Bind());
        Assert.Equal("abc", Bind("--api-key", "abc"));
        Assert.Equal("s3cret", Bind("--api-key-file", Write("key.txt", "s3cret\n")));
        // Several keys, one per line, each with an optional limit of its own; a client (loadtest) sends the first.
        var keys = Write("keys.txt", "# team keys\none\n\n  two 30/min\n");
        Assert.Equal([new ApiKeyEntry("one"), new ApiKeyEntry("two", 30)], serve.BindAll(command.Parse(["--api-key-file", keys])));
        Assert.Equal("one", Bind("--api-key-file", keys));
        foreach (var (args, exitCode, text) in new (string[], int, string)[]
        {
            (["--api-key", "a", "--api-key-file", Write("other.txt", "b")], ExitCodes.Usage, "not both"),
            (["--api-key-file", Write("empty.txt", " \n")], ExitCodes.BadInput, "empty.txt: must hold the API key"),
            (["--api-key-file", Write("two.txt", "a b")], ExitCodes.BadInput, "two.txt:1: 'b' is not a rate limit"),
            (["--api-key-file", Write("three.txt", "# keys\na 5/min\na b c")], ExitCodes.BadInput, "three.txt:3: expected KEY or KEY N/min"),
            (["--api-key-file", Path.Combine(directory, "missing.txt")], ExitCodes.BadInput, "missing.txt: cannot read the API key"),
            (["--api-key-file", directory], ExitCodes.BadInput, "is a directory"),
        })
        {
            var error = Assert.Throws<NatEmException>(() => Bind(args));
            Assert.Equal(exitCode, error.ExitCode);
            Assert.Contains(text, error.Message);
        }
        Assert.Contains("--api-key", Assert.Throws<NatEmException>(() => new ServeOptions { ApiKeys = [new ApiKeyEntry("two words")] }.Validate()).Message);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after()
    {
        var options = new ServeOptions { MaxTexts = 2, Batching = new BatchingOptions { MaxDelay = BatchingOptions.MaxDelayLimit, MaxQueuedSentences = 2 } };
        var (server, client) = await ServingModels.StartAsync(models.Nar, options);
        await using var _ = server;
        var waiting = client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = models.Texts[..2] });
        await ServeProcess.PollAsync(async () => (await client.GetStringAsync(TranslationServer.MetricsPath)).Contains("natem_queued_sentences 2\n"),
            TimeSpan.FromSeconds(30), "two queued sentences in /metrics");

        using var refused = await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = models.Texts[..1] });

        Assert.Contains("queue is full", (await ErrorJson(refused, HttpStatusCode.ServiceUnavailable)).GetProperty("error").GetString());
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        await server.StopAsync();
        Assert.Equal(HttpStatusCode.OK, (await waiting.WaitAsync(TimeSpan.FromSeconds(30))).StatusCode);
    }

    [Fact]
    public async Task A_request_past_its_timeout_gets_503_and_leaves_the_queue()
    {
        var options = new ServeOptions { RequestTimeout = TimeSpan.FromMilliseconds(300), Batching = new BatchingOptions { MaxDelay = BatchingOptions.MaxDelayLimit } };
        var (server, client) = await ServingModels.StartAsync(models.Nar, options);
        await using var _ = server;

        var started = DateTime.UtcNow;
        using var late = await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = models.Texts[..2] });

        Assert.Contains("--request-timeout-s 0.3", (await ErrorJson(late, HttpStatusCode.ServiceUnavailable)).GetProperty("error").GetString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "the timeout should end the wait for the one-minute batch delay");
        Assert.Contains("natem_queued_sentences 0\n", await client.GetStringAsync(TranslationServer.MetricsPath));
        Assert.Contains("--request-timeout-s", Assert.Throws<NatEmException>(() => new ServeOptions { RequestTimeout = TimeSpan.Zero }.Validate()).Message);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://[::1]:0", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("http://[::]:5080", false)]
    [InlineData("http://192.168.1.20:5080", false)]
    public void Listen_addresses_know_whether_other_machines_can_connect(string url, bool loopback)
    {
        Assert.Equal(loopback, ListenAddress.Parse(url).IsLoopback);
    }

    [Fact]
    public void A_non_loopback_address_is_warned_about_before_binding()
    {
        // 192.0.2.1 (TEST-NET-1) is on no machine: the warning is printed, then binding fails, and nothing listens.
        var (exitCode, _, error) = TinyModels.Run("serve", "--model", models.Nar.Directory, "--urls", "http://192.0.2.1:5080");

        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches("^natem: warning: http://192.0.2.1:5080 accepts connections from other machines without an API key", lines[0]);
        Assert.StartsWith("natem: error: cannot listen on http://192.0.2.1:5080: ", lines[1]);
        Assert.Equal(ExitCodes.Environment, exitCode);
    }

    [Fact]
    public async Task Urls_win_over_appsettings_and_aspnetcore_variables_and_sigterm_drains_then_exits_0()
    {
        var workingDirectory = SyntheticTask.TempDir();
        int wanted = ServeProcess.FreePort(), fromFile = ServeProcess.FreePort(), fromEnvironment = ServeProcess.FreePort();
        File.WriteAllText(Path.Combine(workingDirectory, "appsettings.json"),
            $"{{\"urls\": \"http://127.0.0.1:{fromFile}\", \"Kestrel\": {{\"Endpoints\": {{\"Http\": {{\"Url\": \"http://127.0.0.1:{fromFile}\"}}}}}}}}");
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{fromEnvironment}",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{fromEnvironment}",
            ["ASPNETCORE_HTTP_PORTS"] = fromEnvironment.ToString(),
            ["DOTNET_URLS"] = $"http://127.0.0.1:{fromEnvironment}",
        };
        var url = $"http://127.0.0.1:{wanted}";

        using var serve = ServeProcess.Start(["--model", models.Nar.Directory, "--urls", url], workingDirectory, environment);
        var started = await serve.WaitForLineAsync("natem: serving", TimeSpan.FromSeconds(90));

        Assert.Contains(url, started);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"{url}{TranslationServer.HealthPath}")).StatusCode);
        foreach (var other in new[] { fromFile, fromEnvironment })
            await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"http://127.0.0.1:{other}{TranslationServer.HealthPath}"));

        Assert.Equal(ExitCodes.Ok, serve.TerminateAndWait(TimeSpan.FromSeconds(30)));
        Assert.Contains("natem: stopped", serve.Errors);
        Directory.Delete(workingDirectory, recursive: true);
    }
}
