using System.Globalization;
using System.Text;

namespace NatEm.Evaluation;

/// <summary>
/// The few Python <c>str</c> operations sacreBLEU relies on, reproduced exactly: .NET's counterparts differ
/// in which characters count as whitespace and in how a handful of characters lowercase.
/// </summary>
internal static class PythonText
{
    /// <summary>Python's <c>str.isspace</c>: .NET's whitespace plus the ASCII separators U+001C..U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Python's <c>str.split()</c> without arguments: splits on whitespace runs, drops empty pieces.</summary>
    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool boundary = i == text.Length || IsSpace(text[i]);
            if (boundary && start >= 0)
            {
                pieces.Add(text[start..i]);
                start = -1;
            }
            else if (!boundary && start < 0)
            {
                start = i;
            }
        }
        return pieces;
    }

    /// <summary>Python's <c>' '.join(text.split())</c>.</summary>
    public static string NormalizeSpaces(string text) => string.Join(' ', Split(text));

    /// <summary>Python's <c>str.rstrip()</c> without arguments.</summary>
    public static string RStrip(string text)
    {
        int end = text.Length;
        while (end > 0 && IsSpace(text[end - 1])) end--;
        return text[..end];
    }

    /// <summary>Python's <c>' '.join(text)</c>: the code points of the text separated by single spaces.</summary>
    public static string JoinCodePoints(string text) => string.Join(' ', text.EnumerateRunes());

    /// <summary>
    /// Python's <c>str.lower()</c>: simple lowercase mapping per code point, except that U+0130 becomes
    /// "i" + combining dot (its unconditional full mapping) and capital sigma becomes final sigma at the end
    /// of a word.
    /// </summary>
    public static string Lower(string text)
    {
        if (!text.Contains('\u0130') && !text.Contains('\u03a3')) return text.ToLowerInvariant();

        var lowered = new StringBuilder(text.Length + 4);
        for (int i = 0; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int width);
            if (rune.Value == 0x130) lowered.Append("i\u0307");
            else if (rune.Value == 0x3a3) lowered.Append(IsFinalSigma(text, i) ? 'ς' : 'σ');
            else lowered.Append(Rune.ToLowerInvariant(rune).ToString());
            i += width;
        }
        return lowered.ToString();
    }

    /// <summary>
    /// CPython's Final_Sigma test: the sigma follows a cased letter (skipping case-ignorable characters) and
    /// is not followed by one.
    /// </summary>
    private static bool IsFinalSigma(string text, int sigmaIndex)
    {
        bool casedBefore = false;
        for (int i = sigmaIndex; i > 0;)
        {
            Rune.DecodeLastFromUtf16(text.AsSpan(0, i), out var rune, out int width);
            i -= width;
            if (IsCaseIgnorable(rune)) continue;
            casedBefore = IsCased(rune);
            break;
        }
        if (!casedBefore) return false;

        for (int i = sigmaIndex + 1; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int width);
            i += width;
            if (IsCaseIgnorable(rune)) continue;
            return !IsCased(rune);
        }
        return true;
    }

    private static bool IsCased(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    /// <summary>Unicode Case_Ignorable: marks, format characters, modifiers and the in-word apostrophes and dots.</summary>
    private static bool IsCaseIgnorable(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || rune.Value is '\'' or '.' or ':' or 0xb7 or 0x387 or 0x55f or 0x5f4 or 0x2018 or 0x2019 or 0x2024
            or 0x2027 or 0xfe13 or 0xfe52 or 0xfe55 or 0xff07 or 0xff0e or 0xff1a;

    /// <summary>
    /// Python's <c>f"{value:.{digits}f}"</c>. .NET's "F" format also rounds the exact binary value half to even,
    /// so 6.25 gives "6.2" in both.
    /// </summary>
    public static string Fixed(double value, int digits) =>
        value.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
