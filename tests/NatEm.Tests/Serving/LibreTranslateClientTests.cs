using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NatEm.Cli.Commands;
using NatEm.Tests.Shipped;

namespace NatEm.Tests.Serving;

/// <summary>A fact that runs where the pinned npm client is installed (.ci/run runs `npm ci` for it) and is skipped elsewhere.</summary>
public sealed class NpmClientFactAttribute : FactAttribute
{
    public NpmClientFactAttribute()
    {
        if (!Directory.Exists(Path.Combine(LibreTranslateClientTests.NpmClientDirectory, "node_modules", "libretranslate")))
            Skip = $"the npm client is not installed (npm ci --prefix {LibreTranslateClientTests.NpmClientDirectory})";
    }
}

/// <summary>
/// Clients we did not write, against a real `natem serve` of the shipped NAR model: the request shapes of Mastodon
/// (app/lib/translation_service/libre_translate.rb: JSON, q an array, format html, api_key) and Weblate
/// (weblate/machinery/libretranslate.py: a form body), and the npm package `libretranslate`, pinned.
/// docs/libretranslate-clients.md records what each sent and got back.
/// </summary>
public class LibreTranslateClientTests
{
    private const string Key = "compat-test-key";
    public static string NpmClientDirectory => ShippedModelTests.RepositoryPath("tests/NatEm.Tests/Serving/LibreTranslateClient");

    private static async Task<(ServeProcess Serve, HttpClient Client)> StartAsync(params string[] arguments)
    {
        int port = ServeProcess.FreePort();
        var serve = ServeProcess.Start(["--model", ShippedModelTests.RepositoryPath(DemoCommand.ShippedNar), "--urls", $"http://127.0.0.1:{port}", "--threads", "1", .. arguments], SyntheticTask.TempDir());
        await serve.WaitForLineAsync("natem: serving", TimeSpan.FromSeconds(60));
        return (serve, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) });
    }

    private static string KeyFile()
    {
        var path = Path.Combine(SyntheticTask.TempDir(), "keys.txt");
        File.WriteAllText(path, $"{Key}\n");
        return path;
    }

    [Fact]
    public async Task Mastodon_and_weblate_shaped_requests_work_unchanged()
    {
        var (serve, client) = await StartAsync("--api-key-file", KeyFile());
        using var _ = serve;

        // Mastodon: Oj.dump(q: texts, source: source.presence || 'auto', target:, format: 'html', api_key:), Content-Type: application/json.
        var post = "<p>Blessed are the meek: for they shall inherit the earth. <span class=\"h-card\"><a href=\"https://social.example/@ana\" class=\"u-url mention\">@<span>ana</span></a></span></p><p>Amen.<br>Peace be with you.</p>";
        using var mastodon = await client.PostAsJsonAsync("/translate", new { q = new[] { post }, source = "auto", target = "es", format = "html", api_key = Key });
        var answer = await mastodon.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(mastodon.StatusCode == HttpStatusCode.OK, answer.ToString());
        var translated = answer.GetProperty("translatedText")[0].GetString()!;
        Assert.StartsWith("<p>", translated);
        Assert.Contains("<span class=\"h-card\"><a href=\"https://social.example/@ana\" class=\"u-url mention\">@<span>ana</span></a></span></p><p>", translated);
        Assert.Contains("<br>", translated);
        Assert.DoesNotContain("Blessed", translated);
        // Mastodon reads detectedLanguage[i]["language"] when it sent source auto.
        Assert.Equal("en", answer.GetProperty("detectedLanguage")[0].GetProperty("language").GetString());

        // Weblate: requests.post(url + "translate", data={"api_key":, "q":, "source":, "target":}) — a form body.
        var form = new Dictionary<string, string> { ["api_key"] = Key, ["q"] = "And God said, Let there be light: and there was light.", ["source"] = "en", ["target"] = "es" };
        using var weblate = await client.PostAsync("/translate", new FormUrlEncodedContent(form));
        var weblateAnswer = await weblate.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(weblate.StatusCode == HttpStatusCode.OK, weblateAnswer.ToString());
        Assert.Contains("luz", weblateAnswer.GetProperty("translatedText").GetString());
        // Weblate lists the languages first; it needs no key for that.
        var languages = await client.GetFromJsonAsync<JsonElement>("/languages");
        Assert.Equal("es", languages[0].GetProperty("targets")[0].GetString());
        // A wrong key: LibreTranslate's 403.
        form["api_key"] = "wrong";
        using var refused = await client.PostAsync("/translate", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [NpmClientFact]
    public async Task The_libretranslate_npm_client_translates_unchanged()
    {
        var (serve, client) = await StartAsync();
        using var _ = serve;

        var node = new ProcessStartInfo("node") { WorkingDirectory = NpmClientDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "client.mjs", client.BaseAddress!.ToString().TrimEnd('/'), "And God said, Let there be light: and there was light." })
            node.ArgumentList.Add(argument);
        using var process = Process.Start(node)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the npm client did not finish within 60 s");
        Assert.True(process.ExitCode == 0, await errors);

        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(["GET", "POST"], lines.SkipLast(1).Select(l => l.GetProperty("sent").GetProperty("method").GetString()));
        Assert.All(lines.SkipLast(1), l => Assert.Equal(200, l.GetProperty("got").GetProperty("status").GetInt32()));
        Assert.Contains("luz", lines[^1].GetProperty("result").GetString());
    }
}
