using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using NatEm.Decoding;
using NatEm.Modeling;

namespace NatEm.Cli.Serving;

/// <summary>
/// LibreTranslate's API (libretranslate/app.py): <c>POST /translate</c>, <c>GET /languages</c>,
/// <c>GET /frontend/settings</c>, with its field names, answer shapes, error messages and status codes, so that
/// Mastodon, Weblate and LibreTranslate's client libraries can use a NatEm model unchanged.
/// </summary>
public sealed partial class TranslationServer
{
    public const string LibreTranslatePath = "/translate", LanguagesPath = "/languages", FrontendSettingsPath = "/frontend/settings";

    private async Task<IResult> LibreTranslateAsync(HttpContext context)
    {
        var http = context.Request;
        bool form = http.HasFormContentType;
        if (!http.HasJsonContentType() && !(form && apiKeys.Required))
            return Error(StatusCodes.Status415UnsupportedMediaType, apiKeys.Required
                ? "the request body must be JSON (Content-Type: application/json) or a form (application/x-www-form-urlencoded)"
                : "the request body must be JSON, sent with Content-Type: application/json (form bodies are accepted only when the server requires an API key, which a cross-site form cannot know)");
        return await AnswerAsync(context, async (_, cancel) =>
        {
            var request = form ? await ReadFormAsync(http, cancel) : await ReadJsonAsync<LibreTranslateRequest>(http, ApiJson.LibreTranslate, cancel);
            Throttle(context, CheckLibreTranslateKey(request.ApiKey ?? BearerToken(http)));
            var (texts, batch) = QueryTexts(request.Q);
            var pair = options.Languages ?? model.Manifest.Languages
                ?? throw new RequestRejected(StatusCodes.Status400BadRequest, "this model's language codes are unknown (it predates them); start serve with --languages SRC:TGT, e.g. --languages en:es");
            if (string.IsNullOrEmpty(request.Source)) throw Invalid("Invalid request: missing source parameter");
            if (string.IsNullOrEmpty(request.Target)) throw Invalid("Invalid request: missing target parameter");
            if (texts.Length > options.MaxTexts) throw Invalid($"Invalid request: request ({texts.Length}) exceeds text limit ({options.MaxTexts})");
            foreach (var text in texts)
                if (text.EnumerateRunes().Count() is var chars && chars > options.MaxChars)
                    throw Invalid($"Invalid request: request ({chars}) exceeds text limit ({options.MaxChars})");
            bool auto = request.Source == "auto";
            if (!auto && request.Source != pair.Source) throw Invalid($"{request.Source} is not supported");
            if (request.Target != pair.Target) throw Invalid($"{request.Target} is not supported");
            var format = string.IsNullOrEmpty(request.Format) ? "text" : request.Format;
            if (format is not ("text" or "html")) throw Invalid($"{format} format is not supported");
            int alternatives = request.Alternatives ?? 0;
            if (alternatives < 0) throw Invalid("Invalid request: alternatives must be 0 or more");

            var decoding = AlternativesDecoding(alternatives);
            var parsed = texts.Select(text => TranslatableText.Parse(text, format == "html")).ToArray();
            var segments = parsed.SelectMany(p => p.Segments).ToArray();
            var translations = await TranslateTextsAsync(segments, decoding, cancel);

            var translated = new List<string>(texts.Length);
            var others = new List<string[]>(texts.Length);
            int next = 0;
            foreach (var text in parsed)
            {
                var own = translations.AsSpan(next, text.Segments.Count).ToArray();
                next += own.Length;
                translated.Add(text.Rebuild([.. own.Select(t => t.Text)]));
                others.Add(Alternatives(text, own, alternatives, translated[^1]));
            }
            var detected = new DetectedLanguage(100.0, pair.Source);
            return Results.Json(new LibreTranslateResponse
            {
                TranslatedText = batch ? Json(translated) : Json(translated[0]),
                DetectedLanguage = !auto ? null : batch ? Json(texts.Select(_ => detected).ToArray()) : Json(detected),
                Alternatives = alternatives == 0 ? null : batch ? Json(others) : Json(others[0]),
            }, ApiJson.Options);
        });
    }

    /// <summary>
    /// The decoding that yields up to <paramref name="alternatives"/> other translations: the AR n-best list (at most
    /// --beam hypotheses), or the NAR's length candidates, of which every decoding yields --length-beam (a NAR's
    /// generator does not read the n-best setting).
    /// </summary>
    private TranslationOptions AlternativesDecoding(int alternatives)
    {
        var decoding = options.Decoding;
        if (alternatives > 0)
            decoding = decoding with { Beam = decoding.Beam with { NBest = Math.Min(alternatives + 1, decoding.Beam.Beam) } };
        return decoding;
    }

    /// <summary>How many alternatives a request can get at most: the search width - 1 (--beam for AR, --length-beam for NAR).</summary>
    private int MaxAlternatives => translator.Generator.Width.Value - 1;

    /// <summary>
    /// Up to <paramref name="count"/> distinct other translations of one text: the k-th takes every segment's k-th
    /// hypothesis (its best where it has fewer).
    /// </summary>
    private static string[] Alternatives(TranslatableText text, Translation[] segments, int count, string best)
    {
        var found = new List<string>();
        int available = segments.Length == 0 ? 0 : segments.Max(t => t.NBest.Count) - 1;
        for (int k = 1; k <= available && found.Count < count; k++)
        {
            var alternative = text.Rebuild([.. segments.Select(t => k < t.NBest.Count ? t.NBest[k].Text : t.Text)]);
            if (alternative != best && !found.Contains(alternative)) found.Add(alternative);
        }
        return [.. found];
    }

    /// <summary>q as texts, and whether it was an array (answered with arrays); an empty q is LibreTranslate's "missing q".</summary>
    private static (string[] Texts, bool Batch) QueryTexts(JsonElement? q)
    {
        var missing = Invalid("Invalid request: missing q parameter");
        switch (q?.ValueKind)
        {
            case JsonValueKind.String:
                var text = q.Value.GetString()!;
                return text.Length == 0 ? throw missing : ([text], false);
            case JsonValueKind.Array:
                var texts = q.Value.EnumerateArray().Select((item, i) => item.ValueKind == JsonValueKind.String
                    ? item.GetString()! : throw Invalid($"Invalid request: q[{i}] must be a string")).ToArray();
                return texts.Length == 0 ? throw missing : (texts, true);
            case null or JsonValueKind.Null or JsonValueKind.Undefined:
                throw missing;
            default:
                throw Invalid("Invalid request: q must be a string or an array of strings");
        }
    }

    /// <summary>A form body (Weblate's, and LibreTranslate's own page's), read into the JSON request's fields; the first value of a repeated field counts, as in Flask.</summary>
    private async Task<LibreTranslateRequest> ReadFormAsync(HttpRequest request, CancellationToken cancel)
    {
        if (request.ContentLength > options.MaxBodyBytes) throw BodyTooLarge(request.HttpContext.Response);
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancel);
        }
        catch (InvalidDataException e)
        {
            throw Invalid($"Invalid request: malformed form body: {e.Message}");
        }
        string? Field(string name) => form.TryGetValue(name, out var values) ? values.FirstOrDefault() : null;
        int? alternatives = null;
        if (Field("alternatives") is { Length: > 0 } count)
            alternatives = int.TryParse(count, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw Invalid("Invalid request: alternatives must be a whole number");
        return new LibreTranslateRequest
        {
            Q = Field("q") is { } q ? Json(q) : null,
            Source = Field("source"),
            Target = Field("target"),
            Format = Field("format"),
            Alternatives = alternatives,
            ApiKey = Field("api_key"),
        };
    }

    /// <summary>LibreTranslate's key check: no key where one is required is 400 (it tells where to get one), a wrong key 403.</summary>
    private ApiKeyEntry? CheckLibreTranslateKey(string? key)
    {
        if (!apiKeys.Required) return null;
        if (string.IsNullOrEmpty(key)) throw Invalid("Please contact the server operator to get an API key");
        return apiKeys.Find(key) ?? throw new RequestRejected(StatusCodes.Status403Forbidden, "Invalid API key");
    }

    private IResult Languages() => Results.Json(LanguageNames.Entries(options.Languages ?? model.Manifest.Languages), ApiJson.Options);

    private IResult FrontendSettingsOf()
    {
        var pair = options.Languages ?? model.Manifest.Languages;
        return Results.Json(new FrontendSettings(
            CharLimit: options.MaxChars,
            FrontendTimeout: (int)Math.Min(int.MaxValue, options.RequestTimeout.TotalMilliseconds),
            ApiKeys: apiKeys.Required,
            KeyRequired: apiKeys.Required,
            Suggestions: false,
            FilesTranslation: false,
            SupportedFilesFormat: [],
            Language: pair is null ? null : new FrontendLanguages(LanguageName.Of(pair.Source), LanguageName.Of(pair.Target)),
            Model: modelName,
            Decoder: translator.Generator.DescribeOptions().Phrase,
            MaxAlternatives: MaxAlternatives), ApiJson.Options);
    }

    private static RequestRejected Invalid(string message) => new(StatusCodes.Status400BadRequest, message);

    private static JsonElement Json<T>(T value) => JsonSerializer.SerializeToElement(value, ApiJson.Options);
}
