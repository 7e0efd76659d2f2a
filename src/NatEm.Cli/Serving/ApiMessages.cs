using System.Text.Json;
using System.Text.Json.Serialization;

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

/// <summary>Every error response; <see cref="Id"/> ties a 500 to the server's log line.</summary>
public sealed record ErrorResponse(string Error, string? Id = null);

public static class ApiJson
{
    /// <summary>snake_case on the wire, unknown request fields rejected, null fields omitted.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // JsonSerializerDefaults.Web would accept "4" for a number; a wrong type is a client error.
        NumberHandling = JsonNumberHandling.Strict,
    };
}
