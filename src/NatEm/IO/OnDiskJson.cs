using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NatEm.IO;

/// <summary>
/// The one JSON convention of every file NatEm writes (model.json, manifest.json, trainer and EM state, reports,
/// training logs): snake_case names, indented, UTF-8 text kept readable, NaN/Infinity allowed (a diverged loss is a
/// value, not a crash). Readers of older layouts that differ get their own options beside their migration.
/// </summary>
public static class OnDiskJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>One object per line (JSON Lines logs).</summary>
    public static readonly JsonSerializerOptions Lines = new(Options) { WriteIndented = false };
}
