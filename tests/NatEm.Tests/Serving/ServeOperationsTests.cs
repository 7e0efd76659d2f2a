using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NatEm.Cli.Serving;
using NatEm.Data;

namespace NatEm.Tests.Serving;

/// <summary>Readiness, CORS and rate limits of `natem serve`.</summary>
public class ServeOperationsTests(ServingModels models) : IClassFixture<ServingModels>
{
    private static async Task<string> ErrorOf(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
    }

    [Fact]
    public async Task Readyz_is_503_until_the_warm_up_batch_is_answered_while_healthz_says_alive()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, warmUp: false);
        await using var _ = server;

        Assert.Contains("warm-up", await ErrorOf(await client.GetAsync(TranslationServer.ReadyPath), HttpStatusCode.ServiceUnavailable));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(TranslationServer.HealthPath)).StatusCode);

        await server.WarmUpAsync();

        var ready = await client.GetFromJsonAsync<JsonElement>(TranslationServer.ReadyPath);
        Assert.Equal("ready", ready.GetProperty("status").GetString());
    }

    private static async Task<HttpResponseMessage> PreflightAsync(HttpClient client, string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, TranslationServer.LibreTranslatePath);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");
        return await client.SendAsync(request);
    }

    private static string? AllowedOrigin(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;

    [Fact]
    public async Task Cors_is_off_by_default_and_allows_only_the_named_origins()
    {
        var (closed, closedClient) = await ServingModels.StartAsync(models.Nar);
        await using (closed)
            Assert.Null(AllowedOrigin(await PreflightAsync(closedClient, "https://app.example")));

        var (named, namedClient) = await ServingModels.StartAsync(models.Nar, new ServeOptions { CorsOrigins = ["https://app.example"] });
        await using (named)
        {
            Assert.Equal("https://app.example", AllowedOrigin(await PreflightAsync(namedClient, "https://app.example")));
            Assert.Null(AllowedOrigin(await PreflightAsync(namedClient, "https://evil.example")));
        }

        var (any, anyClient) = await ServingModels.StartAsync(models.Nar, new ServeOptions { CorsOrigins = ["*"] });
        await using (any)
            Assert.Equal("*", AllowedOrigin(await PreflightAsync(anyClient, "https://evil.example")));

        foreach (var bad in new[] { "app.example", "https://app.example/", "https://app.example/path", "ftp://app.example" })
            Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(() => new ServeOptions { CorsOrigins = [bad] }.Validate()).ExitCode);
    }

    [Fact]
    public async Task Over_the_rate_limit_a_client_ip_gets_429_with_retry_after()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { RateLimitPerMinute = 2, Languages = new LanguagePair("en", "es") });
        await using var _ = server;

        // Both translation routes draw on the same per-IP allowance.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = new[] { "red cat" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync(TranslationServer.LibreTranslatePath, new { q = "red cat", source = "en", target = "es" })).StatusCode);
        using var refused = await client.PostAsJsonAsync(TranslationServer.LibreTranslatePath, new { q = "red cat", source = "en", target = "es" });

        Assert.Equal("Slowdown: 2 per 1 minute", await ErrorOf(refused, HttpStatusCode.TooManyRequests));
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter is { } wait && wait > TimeSpan.Zero && wait <= TimeSpan.FromMinutes(1), $"Retry-After: {retryAfter}");
        await ErrorOf(await client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts = new[] { "red cat" } }), HttpStatusCode.TooManyRequests);
        // Routes that translate nothing are not limited.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(TranslationServer.LanguagesPath)).StatusCode);
    }

    [Fact]
    public async Task Each_api_key_has_its_own_allowance_and_may_have_its_own_limit()
    {
        var options = new ServeOptions { RateLimitPerMinute = 2, Languages = new LanguagePair("en", "es"), ApiKeys = [new ApiKeyEntry("slow", 1), new ApiKeyEntry("normal")] };
        var (server, client) = await ServingModels.StartAsync(models.Nar, options);
        await using var _ = server;
        Task<HttpResponseMessage> Post(string key) => client.PostAsJsonAsync(TranslationServer.LibreTranslatePath, new { q = "red cat", source = "en", target = "es", api_key = key });

        Assert.Equal(HttpStatusCode.OK, (await Post("slow")).StatusCode);
        Assert.Equal("Slowdown: 1 per 1 minute", await ErrorOf(await Post("slow"), HttpStatusCode.TooManyRequests));
        // The same client IP with another key is not held back by the first key's use.
        Assert.Equal(HttpStatusCode.OK, (await Post("normal")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Post("normal")).StatusCode);
        Assert.Equal("Slowdown: 2 per 1 minute", await ErrorOf(await Post("normal"), HttpStatusCode.TooManyRequests));
        // A wrong key is refused before it can use anyone's allowance.
        Assert.Equal("Invalid API key", await ErrorOf(await Post("other"), HttpStatusCode.Forbidden));
    }

    [Fact]
    public void A_rate_limit_is_a_whole_number_per_minute()
    {
        Assert.Equal(60, RateLimit.ParsePerMinute("60/min", "--rate-limit"));
        Assert.Equal(5, RateLimit.ParsePerMinute("5", "--rate-limit"));
        foreach (var bad in new[] { "0/min", "-1/min", "1.5/min", "ten/min", "10/hour", "" })
            Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(() => RateLimit.ParsePerMinute(bad, "--rate-limit")).ExitCode);
    }
}
