using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using NatEm.Data;

namespace NatEm.Cli.Serving;

/// <summary>
/// Body of LibreTranslate's <c>POST /translate</c> (libretranslate/app.py), as JSON or as form fields of the same names.
/// </summary>
public sealed record LibreTranslateRequest
{
    /// <summary>The text, or an array of texts.</summary>
    public JsonElement? Q { get; init; }
    /// <summary>The source language code, or <c>auto</c>.</summary>
    public string? Source { get; init; }
    public string? Target { get; init; }
    /// <summary><c>text</c> (default) or <c>html</c>.</summary>
    public string? Format { get; init; }
    /// <summary>How many other translations to add, from the AR n-best list or the NAR's other length candidates.</summary>
    public int? Alternatives { get; init; }
    /// <summary>The API key, when not sent as <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }
}

/// <summary>
/// Answer of <c>POST /translate</c>: each field is a string for a string <c>q</c> and an array (one entry per text)
/// for an array <c>q</c>, as LibreTranslate answers.
/// </summary>
public sealed record LibreTranslateResponse
{
    [JsonPropertyName("translatedText")] public required JsonElement TranslatedText { get; init; }
    /// <summary>Only with <c>source: auto</c>.</summary>
    [JsonPropertyName("detectedLanguage")] public JsonElement? DetectedLanguage { get; init; }
    /// <summary>Only with <c>alternatives</c> above 0.</summary>
    [JsonPropertyName("alternatives")] public JsonElement? Alternatives { get; init; }
}

/// <summary>LibreTranslate's language detection result; a one-pair model knows its source language for certain.</summary>
public sealed record DetectedLanguage([property: JsonPropertyName("confidence")] double Confidence, [property: JsonPropertyName("language")] string Language);

/// <summary>One entry of <c>GET /languages</c>.</summary>
public sealed record LanguageEntry(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("targets")] IReadOnlyList<string> Targets);

public sealed record LanguageName([property: JsonPropertyName("code")] string Code, [property: JsonPropertyName("name")] string Name)
{
    /// <summary>The English name of a language code (ICU's), or the code itself when ICU does not know it.</summary>
    public static LanguageName Of(string code)
    {
        try
        {
            var culture = CultureInfo.GetCultureInfo(code, predefinedOnly: true);
            return new LanguageName(code, culture.EnglishName);
        }
        catch (CultureNotFoundException)
        {
            return new LanguageName(code, code);
        }
    }
}

public sealed record FrontendLanguages([property: JsonPropertyName("source")] LanguageName Source, [property: JsonPropertyName("target")] LanguageName Target);

/// <summary>
/// <c>GET /frontend/settings</c>: the fields LibreTranslate's own page and its clients read. This server has no
/// suggestions and no file translation.
/// </summary>
public sealed record FrontendSettings(
    [property: JsonPropertyName("charLimit")] int CharLimit,
    [property: JsonPropertyName("frontendTimeout")] int FrontendTimeout,
    [property: JsonPropertyName("apiKeys")] bool ApiKeys,
    [property: JsonPropertyName("keyRequired")] bool KeyRequired,
    [property: JsonPropertyName("suggestions")] bool Suggestions,
    [property: JsonPropertyName("filesTranslation")] bool FilesTranslation,
    [property: JsonPropertyName("supportedFilesFormat")] IReadOnlyList<string> SupportedFilesFormat,
    [property: JsonPropertyName("language")] FrontendLanguages? Language,
    // NatEm's own: what the page shows beside the result.
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("decoder")] string Decoder,
    [property: JsonPropertyName("maxAlternatives")] int MaxAlternatives);

/// <summary>The language names LibreTranslate's routes answer with, for a model's pair.</summary>
public static class LanguageNames
{
    public static IReadOnlyList<LanguageEntry> Entries(LanguagePair? pair) => pair is null ? [] :
    [
        new LanguageEntry(pair.Source, LanguageName.Of(pair.Source).Name, [pair.Target]),
        // LibreTranslate lists every language it has; the target is one, with no pair out of it.
        new LanguageEntry(pair.Target, LanguageName.Of(pair.Target).Name, []),
    ];
}
