using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NatEm.Cli.Serving;
using NatEm.Data;
using NatEm.Decoding;

namespace NatEm.Tests.Serving;

/// <summary>LibreTranslate's routes (libretranslate/app.py) on tiny models: shapes, errors, keys, forms, HTML, alternatives, hosts.</summary>
public class LibreTranslateApiTests(ServingModels models) : IClassFixture<ServingModels>
{
    private static readonly LanguagePair EnEs = new("en", "es");
    private static readonly ServeOptions WithLanguages = new() { Languages = EnEs };

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.PostAsJsonAsync(TranslationServer.LibreTranslatePath, body);
        return await JsonOf(response, expected);
    }

    private static async Task<string> ErrorOf(HttpClient client, object body, HttpStatusCode expected) =>
        (await PostAsync(client, body, expected)).GetProperty("error").GetString()!;

    [Fact]
    public async Task A_string_q_gets_a_string_and_an_array_q_an_array_of_the_translators_translations()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, WithLanguages);
        await using var _ = server;
        var expected = Translator.For(models.Nar).Translate(models.Texts).Select(t => t.Text).ToArray();

        var single = await PostAsync(client, new { q = models.Texts[0], source = "en", target = "es" });
        Assert.Equal(expected[0], single.GetProperty("translatedText").GetString());
        Assert.False(single.TryGetProperty("detectedLanguage", out var _), "detectedLanguage only with source auto");
        Assert.False(single.TryGetProperty("alternatives", out var _), "alternatives only when asked for");

        var batch = await PostAsync(client, new { q = models.Texts, source = "auto", target = "es", format = "text" });
        Assert.Equal(expected, batch.GetProperty("translatedText").EnumerateArray().Select(t => t.GetString()));
        Assert.All(batch.GetProperty("detectedLanguage").EnumerateArray(), d =>
        {
            Assert.Equal("en", d.GetProperty("language").GetString());
            Assert.Equal(100.0, d.GetProperty("confidence").GetDouble());
        });
        var auto = await PostAsync(client, new { q = models.Texts[0], source = "auto", target = "es" });
        Assert.Equal("en", auto.GetProperty("detectedLanguage").GetProperty("language").GetString());

        // Lines are translated one by one (the model knows sentences), their breaks kept.
        var lines = await PostAsync(client, new { q = $"{models.Texts[0]}\r\n\n  {models.Texts[1]}", source = "en", target = "es" });
        Assert.Equal($"{expected[0]}\n\n  {expected[1]}", lines.GetProperty("translatedText").GetString());
    }

    [Fact]
    public async Task Bad_requests_get_libretranslates_messages_and_status_codes()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, WithLanguages with { MaxTexts = 2, MaxChars = 20 });
        await using var _ = server;

        Assert.Equal("Invalid request: missing q parameter", await ErrorOf(client, new { source = "en", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid request: missing q parameter", await ErrorOf(client, new { q = "", source = "en", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid request: missing q parameter", await ErrorOf(client, new { q = Array.Empty<string>(), source = "en", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid request: missing source parameter", await ErrorOf(client, new { q = "red cat", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid request: missing target parameter", await ErrorOf(client, new { q = "red cat", source = "en" }, HttpStatusCode.BadRequest));
        Assert.Equal("fr is not supported", await ErrorOf(client, new { q = "red cat", source = "fr", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("de is not supported", await ErrorOf(client, new { q = "red cat", source = "en", target = "de" }, HttpStatusCode.BadRequest));
        Assert.Equal("xml format is not supported", await ErrorOf(client, new { q = "red cat", source = "en", target = "es", format = "xml" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid request: request (3) exceeds text limit (2)", await ErrorOf(client, new { q = new[] { "a", "b", "c" }, source = "en", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid request: request (21) exceeds text limit (20)", await ErrorOf(client, new { q = new string('a', 21), source = "en", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid request: q[1] must be a string", await ErrorOf(client, new { q = new object[] { "a", 3 }, source = "en", target = "es" }, HttpStatusCode.BadRequest));
        // Fields LibreTranslate's clients add (its page's "secret") are ignored, as LibreTranslate ignores them.
        Assert.Equal(JsonValueKind.String, (await PostAsync(client, new { q = "red cat", source = "en", target = "es", secret = "x" })).GetProperty("translatedText").ValueKind);
        // Without a key required, a form body is refused: a cross-site form could post it.
        using var form = await client.PostAsync(TranslationServer.LibreTranslatePath, new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = "red cat", ["source"] = "en", ["target"] = "es" }));
        Assert.Contains("form bodies are accepted only when the server requires an API key", (await JsonOf(form, HttpStatusCode.UnsupportedMediaType)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task With_keys_the_key_comes_in_the_body_or_as_a_bearer_token_and_forms_are_accepted()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, WithLanguages with { ApiKeys = [new ApiKeyEntry("first-key"), new ApiKeyEntry("second-key")] });
        await using var _ = server;
        var expected = Translator.For(models.Nar).Translate(models.Texts[..1])[0].Text;

        Assert.Equal("Please contact the server operator to get an API key", await ErrorOf(client, new { q = "red cat", source = "en", target = "es" }, HttpStatusCode.BadRequest));
        Assert.Equal("Invalid API key", await ErrorOf(client, new { q = "red cat", source = "en", target = "es", api_key = "first-keyx" }, HttpStatusCode.Forbidden));
        foreach (var key in new[] { "first-key", "second-key" })
            Assert.Equal(expected, (await PostAsync(client, new { q = models.Texts[0], source = "en", target = "es", api_key = key })).GetProperty("translatedText").GetString());

        using var bearer = new HttpRequestMessage(HttpMethod.Post, TranslationServer.LibreTranslatePath) { Content = JsonContent.Create(new { q = models.Texts[0], source = "en", target = "es" }) };
        bearer.Headers.Authorization = new("Bearer", "second-key");
        Assert.Equal(expected, (await JsonOf(await client.SendAsync(bearer), HttpStatusCode.OK)).GetProperty("translatedText").GetString());

        // Weblate's shape: a form body with the key in it.
        var fields = new Dictionary<string, string> { ["q"] = models.Texts[0], ["source"] = "en", ["target"] = "es", ["api_key"] = "first-key" };
        using var form = await client.PostAsync(TranslationServer.LibreTranslatePath, new FormUrlEncodedContent(fields));
        Assert.Equal(expected, (await JsonOf(form, HttpStatusCode.OK)).GetProperty("translatedText").GetString());
        fields["api_key"] = "nope";
        using var wrongForm = await client.PostAsync(TranslationServer.LibreTranslatePath, new FormUrlEncodedContent(fields));
        Assert.Equal("Invalid API key", (await JsonOf(wrongForm, HttpStatusCode.Forbidden)).GetProperty("error").GetString());
        // Other content types stay refused.
        using var plain = await client.PostAsync(TranslationServer.LibreTranslatePath, new StringContent("q=red", Encoding.UTF8, "text/plain"));
        await JsonOf(plain, HttpStatusCode.UnsupportedMediaType);
        // The open routes a client reads before it has a key.
        Assert.True((await JsonOf(await client.GetAsync(TranslationServer.FrontendSettingsPath), HttpStatusCode.OK)).GetProperty("keyRequired").GetBoolean());
    }

    [Fact]
    public async Task Alternatives_come_from_the_ar_nbest_list_and_the_nar_length_candidates()
    {
        var ar = new TranslationOptions { Beam = new BeamSearchOptions { Beam = 3 } };
        var (arServer, arClient) = await ServingModels.StartAsync(models.Ar, WithLanguages with { Decoding = ar });
        await using (arServer)
        {
            var expected = Translator.For(models.Ar, ar with { Beam = ar.Beam with { NBest = 3 } }).Translate(models.Texts[..1])[0];
            var json = await PostAsync(arClient, new { q = models.Texts[0], source = "en", target = "es", alternatives = 2 });
            Assert.Equal(expected.Text, json.GetProperty("translatedText").GetString());
            var others = expected.NBest.Skip(1).Select(h => h.Text).Where(t => t != expected.Text).Distinct().ToArray();
            Assert.Equal(others, json.GetProperty("alternatives").EnumerateArray().Select(a => a.GetString()));
        }

        var nar = new TranslationOptions { Nar = new NarDecodingOptions { LengthBeam = 4 } };
        var (narServer, narClient) = await ServingModels.StartAsync(models.Nar, WithLanguages with { Decoding = nar });
        await using (narServer)
        {
            var expected = Translator.For(models.Nar, nar).Translate(models.Texts);
            var json = await PostAsync(narClient, new { q = models.Texts, source = "en", target = "es", alternatives = 1 });
            Assert.Equal(expected.Select(t => t.Text), json.GetProperty("translatedText").EnumerateArray().Select(t => t.GetString()));
            var alternatives = json.GetProperty("alternatives").EnumerateArray().ToList();
            Assert.Equal(expected.Length, alternatives.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                var others = expected[i].NBest.Skip(1).Select(h => h.Text).Where(t => t != expected[i].Text).Distinct().Take(1);
                Assert.Equal(others, alternatives[i].EnumerateArray().Select(a => a.GetString()));
            }
            Assert.True(alternatives.Any(a => a.GetArrayLength() == 1), "a length beam of 4 gives some text another candidate");
        }
    }

    [Fact]
    public async Task Html_translates_text_nodes_and_keeps_the_markup_of_a_mastodon_post()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, WithLanguages);
        await using var _ = server;
        var translate = Translator.For(models.Nar);
        string T(string text) => translate.Translate([text])[0].Text;
        var post = "<p>red cat &amp; big dog <span class=\"h-card\"><a href=\"https://social.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span></p>"
            + "<p>the fish<br>eats <a href=\"https://social.example/tags/fish\" class=\"mention hashtag\" rel=\"tag\">#<span>fish</span></a> <code>x = 1</code></p>";

        var json = await PostAsync(client, new { q = new[] { post }, source = "en", target = "es", format = "html" });

        var expected = $"<p>{Escape(T("red cat & big dog"))} <span class=\"h-card\"><a href=\"https://social.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span></p>"
            + $"<p>{Escape(T("the fish"))}<br>{Escape(T("eats"))} <a href=\"https://social.example/tags/fish\" class=\"mention hashtag\" rel=\"tag\">#<span>fish</span></a> <code>x = 1</code></p>";
        Assert.Equal(expected, json.GetProperty("translatedText")[0].GetString());
    }

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\u00a0", "&nbsp;");

    [Fact]
    public void Html_pieces_are_the_text_nodes_and_rebuilding_keeps_everything_else()
    {
        var text = TranslatableText.Html("<p class=\"x\">Hello <b>world</b>!<br/>&lt;tag&gt; &nbsp;ok</p><script>var a = 'b';</script><span translate=\"no\">Name</span>");

        Assert.Equal(["Hello", "world", "<tag> \u00a0ok"], text.Segments);
        Assert.Equal("<p class=\"x\">[1] <b>[2]</b>!<br>[3]</p><script>var a = 'b';</script><span translate=\"no\">Name</span>",
            text.Rebuild(["[1]", "[2]", "[3]"]));
        var plain = TranslatableText.Plain(" one \n\n two\r\nthree ");
        Assert.Equal(["one", "two", "three"], plain.Segments);
        Assert.Equal(" 1 \n\n 2\n3 ", plain.Rebuild(["1", "2", "3"]));
    }

    [Fact]
    public async Task Languages_and_frontend_settings_come_from_the_model_or_the_languages_option()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, WithLanguages with { MaxChars = 321 });
        await using (server)
        {
            var languages = await JsonOf(await client.GetAsync(TranslationServer.LanguagesPath), HttpStatusCode.OK);
            Assert.Equal("en", languages[0].GetProperty("code").GetString());
            Assert.Equal("English", languages[0].GetProperty("name").GetString());
            Assert.Equal(["es"], languages[0].GetProperty("targets").EnumerateArray().Select(t => t.GetString()));
            Assert.Equal("Spanish", languages[1].GetProperty("name").GetString());

            var settings = await JsonOf(await client.GetAsync(TranslationServer.FrontendSettingsPath), HttpStatusCode.OK);
            Assert.Equal(321, settings.GetProperty("charLimit").GetInt32());
            Assert.False(settings.GetProperty("keyRequired").GetBoolean());
            Assert.False(settings.GetProperty("filesTranslation").GetBoolean());
            Assert.Equal("en", settings.GetProperty("language").GetProperty("source").GetProperty("code").GetString());
            Assert.Equal("Spanish", settings.GetProperty("language").GetProperty("target").GetProperty("name").GetString());
        }

        // The tiny models' model.json has no codes (as models before 2026-12-02): said plainly.
        Assert.Null(models.Nar.Manifest.Languages);
        var (old, oldClient) = await ServingModels.StartAsync(models.Nar);
        await using (old)
        {
            Assert.Contains("--languages", await ErrorOf(oldClient, new { q = "red cat", source = "en", target = "es" }, HttpStatusCode.BadRequest));
            Assert.Equal(0, (await JsonOf(await oldClient.GetAsync(TranslationServer.LanguagesPath), HttpStatusCode.OK)).GetArrayLength());
        }
    }

    [Fact]
    public void The_languages_option_is_two_different_codes()
    {
        Assert.Equal(EnEs, LanguagePair.Parse("en:es", "--languages"));
        Assert.Equal(new LanguagePair("pt-BR", "zh_Hant"), LanguagePair.Parse("pt-BR:zh_Hant", "--languages"));
        foreach (var bad in new[] { "en", "en:en", "en:es:fr", ":es", "e n:es", "en/es" })
            Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(() => LanguagePair.Parse(bad, "--languages")).ExitCode);
    }

    [Theory]
    [InlineData("attacker.example", null, HttpStatusCode.BadRequest)]
    [InlineData("localhost", null, HttpStatusCode.OK)]
    [InlineData("127.0.0.1", null, HttpStatusCode.OK)]
    [InlineData("[::1]", null, HttpStatusCode.OK)]
    [InlineData("translate.example.org", "translate.example.org", HttpStatusCode.OK)]
    [InlineData("localhost", "translate.example.org", HttpStatusCode.BadRequest)]
    [InlineData("a.example.com", "*.example.com", HttpStatusCode.OK)]
    public async Task Only_the_allowed_host_names_are_answered_against_dns_rebinding(string host, string? allowed, HttpStatusCode expected)
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, WithLanguages with { AllowedHosts = allowed is null ? [] : [allowed] });
        await using var _ = server;
        foreach (var (method, path) in new[] { (HttpMethod.Post, TranslationServer.TranslatePath), (HttpMethod.Post, TranslationServer.LibreTranslatePath), (HttpMethod.Get, TranslationServer.LanguagesPath) })
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Host = $"{host}:{client.BaseAddress!.Port}";
            if (method == HttpMethod.Post) request.Content = JsonContent.Create(new { texts = new[] { "red cat" }, q = "red cat", source = "en", target = "es" });
            if (path == TranslationServer.TranslatePath) request.Content = JsonContent.Create(new { texts = new[] { "red cat" } });
            using var response = await client.SendAsync(request);
            var json = await JsonOf(response, expected);
            if (expected == HttpStatusCode.BadRequest)
                Assert.Contains($"the Host header '{host}:{client.BaseAddress.Port}' is not one this server answers to", json.GetProperty("error").GetString());
        }
    }

    [Fact]
    public void Default_allowed_hosts_are_the_bound_names()
    {
        Assert.Equal(["localhost", "127.0.0.1", "[::1]"], new ServeOptions { Urls = "http://127.0.0.1:1" }.EffectiveAllowedHosts());
        Assert.Equal(["10.1.2.3"], new ServeOptions { Urls = "http://10.1.2.3:1" }.EffectiveAllowedHosts());
        Assert.Equal(["*"], new ServeOptions { Urls = "http://127.0.0.1:1;http://*:2" }.EffectiveAllowedHosts());
        Assert.Equal(["proxy.example"], new ServeOptions { Urls = "http://127.0.0.1:1", AllowedHosts = ["proxy.example"] }.EffectiveAllowedHosts());
        Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(() => new ServeOptions { AllowedHosts = ["http://x/"] }.Validate()).ExitCode);
    }
}
