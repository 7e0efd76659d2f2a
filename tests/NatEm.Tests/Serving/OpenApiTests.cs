using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using NatEm.Cli.Serving;

namespace NatEm.Tests.Serving;

/// <summary>/openapi/v1.json (Microsoft.AspNetCore.OpenApi) describes every mapped route; /docs (Scalar) serves its page without a CDN.</summary>
public class OpenApiTests(ServingModels models) : IClassFixture<ServingModels>
{
    [Fact]
    public async Task The_openapi_document_parses_and_lists_every_mapped_route_with_its_bodies()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;

        using var document = JsonDocument.Parse(await client.GetStringAsync(TranslationServer.OpenApiPath));

        var root = document.RootElement;
        Assert.StartsWith("3.1", root.GetProperty("openapi").GetString());
        var paths = root.GetProperty("paths");
        var routes = server.DescribedRoutes;
        Assert.Superset(new HashSet<(string, string)>
        {
            ("POST", "/v1/translate"), ("POST", "/translate"), ("GET", "/languages"), ("GET", "/frontend/settings"),
            ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/v1/models"), ("GET", "/metrics"),
        }, routes.ToHashSet());
        foreach (var (method, path) in routes)
            Assert.True(paths.TryGetProperty(path, out var item) && item.TryGetProperty(method.ToLowerInvariant(), out var _), $"{method} {path} is not in the document");

        string RequestSchema(string path) => paths.GetProperty(path).GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetRawText();
        Assert.Contains("\"texts\"", SchemaText(root, RequestSchema("/v1/translate")));
        Assert.Contains("\"api_key\"", SchemaText(root, RequestSchema("/translate")));
        Assert.True(paths.GetProperty("/translate").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("application/x-www-form-urlencoded", out var _));
        var translateAnswers = paths.GetProperty("/translate").GetProperty("post").GetProperty("responses");
        foreach (var status in new[] { "200", "400", "403", "429", "500" }) Assert.True(translateAnswers.TryGetProperty(status, out var _), $"/translate answers {status}");
    }

    /// <summary>The schema text, with a $ref followed once into components/schemas.</summary>
    private static string SchemaText(JsonElement root, string schema)
    {
        var reference = Regex.Match(schema, "\"\\$ref\":\\s*\"#/components/schemas/([^\"]+)\"");
        return reference.Success ? root.GetProperty("components").GetProperty("schemas").GetProperty(reference.Groups[1].Value).GetRawText() : schema;
    }

    [Fact]
    public async Task The_api_reference_page_is_served_from_the_binary()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;

        using var page = await client.GetAsync(TranslationServer.DocsPath);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        var scripts = Regex.Matches(html, "<script[^>]*src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            Assert.DoesNotContain("://", script);
            using var served = await client.GetAsync(new Uri(new Uri(client.BaseAddress!, TranslationServer.DocsPath + "/"), script));
            Assert.True(served.StatusCode == HttpStatusCode.OK, $"{script}: {served.StatusCode}");
        }
    }
}
