using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace NatEm.Cli.Serving;

/// <summary>Body of <c>POST /v1/translate</c>. Unknown fields are rejected so that typos do not pass silently.</summary>
public sealed record TranslateRequest
{
    public string?[]? Texts { get; init; }
    /// <summary>NAR decoder (odd, argmax, dedup); NAR models only.</summary>
    public string? Decoder { get; init; }
    /// <summary>Hypotheses per text, at most the server's beam; AR models only.</summary>
    public int? Nbest { get; init; }
}

public sealed record TranslateResponse(IReadOnlyList<TranslationResult> Translations, string Model, double ElapsedMs);

/// <summary>One translation; <see cref="Nbest"/> is present when more than one hypothesis was asked for.</summary>
public sealed record TranslationResult(string Text, double Score, IReadOnlyList<NBestEntry>? Nbest = null);

public sealed record NBestEntry(string Text, double Score);

/// <summary>Answer of <c>GET /healthz</c>.</summary>
public sealed record HealthStatus(string Status);

/// <summary>Every error response; <see cref="Id"/> ties a 500 to the server's log line.</summary>
public sealed record ErrorResponse(string Error, string? Id = null);

/// <summary>The error statuses a route declares for its OpenAPI description, each with the JSON error body.</summary>
public static class ErrorResponses
{
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder route, params int[] statuses)
    {
        foreach (var status in statuses) route.Produces<ErrorResponse>(status, "application/json");
        return route;
    }
}

public static partial class ApiJson
{
    /// <summary>snake_case on the wire, unknown or repeated request fields rejected, null fields omitted.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // {"texts": [...], "texts": [...]} would otherwise keep the last one silently.
        AllowDuplicateProperties = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // JsonSerializerDefaults.Web would accept "4" for a number; a wrong type is a client error.
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>
    /// LibreTranslate's request conventions: fields it does not know are ignored (its clients send extras, such as
    /// its own page's <c>secret</c>) and numbers may come as strings, as they do from its form bodies.
    /// </summary>
    public static readonly JsonSerializerOptions LibreTranslate = new(Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>A client's JSON mistake in its own terms (field, line, byte), without the .NET type names of System.Text.Json's messages.</summary>
    public static string Describe(JsonException e)
    {
        string field = e.Path is { Length: > 1 } path ? path[1..].TrimStart('.') : "";
        string where = field.Length > 0 ? field : "the body";
        string at = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
        if (UnknownField().Match(e.Message) is { Success: true } unknown) return $"unknown field '{unknown.Groups[1].Value}'{at}";
        if (e.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase)) return $"{where}: a field appears twice in the same object{at}";
        if (e.Message.Contains("could not be converted", StringComparison.Ordinal)) return $"{where}: a value of the wrong type{at}";
        // Syntax errors name no type; keep their first sentence.
        var sentence = e.Message.Split(" Path: ")[0].Split(" LineNumber: ")[0].TrimEnd(' ', '|');
        return DotNetType().Replace(sentence, "the expected type") + at;
    }

    [GeneratedRegex("The JSON property '(.*?)' could not be mapped")]
    private static partial Regex UnknownField();

    [GeneratedRegex(@"'?\b(System|NatEm)\.[\w.`\[\],]+'?")]
    private static partial Regex DotNetType();
}
