using System.Text;

namespace NatEm.Text;

/// <summary>
/// The normalization every sentence gets before tokenization, training and scoring: Unicode NFC; every run of
/// whitespace (any <see cref="char.IsWhiteSpace(char)"/> character, and U+2581, the subword word-boundary
/// marker) becomes one space; other control characters (category Cc) are removed; no leading or trailing space.
/// </summary>
public static class TextNormalizer
{
    public static string Normalize(string text) => CleanWhitespace(ToNfc(text));

    /// <summary>NFC through the platform (ICU on Linux). NFC is stable across Unicode versions for assigned
    /// characters, so the ICU version does not change the result for text that a model was trained on.</summary>
    private static string ToNfc(string text)
    {
        try
        {
            return text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            // Lone surrogates (possible in JSON strings, never in validated UTF-8) become U+FFFD, as a UTF-8 round trip does.
            return Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)).Normalize(NormalizationForm.FormC);
        }
    }

    private static bool IsSpace(char c) => char.IsWhiteSpace(c) || c == SubwordText.WordBoundary;

    private static bool IsClean(string text)
    {
        if (text.Length > 0 && (text[0] == ' ' || text[^1] == ' ')) return false;
        var previousSpace = false;
        foreach (var c in text)
        {
            if (c == ' ')
            {
                if (previousSpace) return false;
                previousSpace = true;
                continue;
            }
            if (IsSpace(c) || char.IsControl(c)) return false;
            previousSpace = false;
        }
        return true;
    }

    private static string CleanWhitespace(string text)
    {
        if (IsClean(text)) return text;
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (IsSpace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (char.IsControl(c)) continue;
            if (pendingSpace) builder.Append(' ');
            pendingSpace = false;
            builder.Append(c);
        }
        return builder.ToString();
    }
}
