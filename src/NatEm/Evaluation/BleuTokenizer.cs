using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NatEm.Evaluation;

/// <summary>A sacreBLEU BLEU tokenizer: turns a detokenized line into space-separated tokens.</summary>
public abstract class BleuTokenizer
{
    /// <summary>The tokenizer's name, as given to <c>--tokenize</c> and shown in the signature ("tok:13a").</summary>
    public abstract string Name { get; }

    public abstract string Tokenize(string line);

    /// <summary>The names <see cref="FromName"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["13a", "intl", "char", "none"];

    /// <summary>sacreBLEU's default: the mteval-v13a.pl tokenization used by WMT.</summary>
    public static BleuTokenizer Default => Tokenizer13a.Instance;

    public static BleuTokenizer FromName(string name) => name switch
    {
        "13a" => Tokenizer13a.Instance,
        "intl" => TokenizerIntl.Instance,
        "char" => TokenizerChar.Instance,
        "none" => TokenizerNone.Instance,
        _ => throw new ArgumentException(
            $"unknown BLEU tokenizer '{name}' (expected one of: {string.Join(", ", Names)})", nameof(name)),
    };
}

/// <summary>sacreBLEU's tokenizer_13a.py followed by tokenizer_re.py.</summary>
internal sealed partial class Tokenizer13a : BleuTokenizer
{
    public static readonly Tokenizer13a Instance = new();

    public override string Name => "13a";

    public override string Tokenize(string line)
    {
        line = line.Replace("<skipped>", "").Replace("-\n", "").Replace("\n", " ");
        if (line.Contains('&'))
            line = line.Replace("&quot;", "\"").Replace("&amp;", "&").Replace("&lt;", "<").Replace("&gt;", ">");

        // Padding with spaces lets a final period or comma be split off (mteval-v13a does the same).
        line = $" {line} ";
        line = Symbol().Replace(line, " $1 ");
        line = PeriodCommaAfterNonDigit().Replace(line, "$1 $2 ");
        line = PeriodCommaBeforeNonDigit().Replace(line, " $1 $2");
        line = DashAfterDigit().Replace(line, "$1 $2 ");
        return PythonText.NormalizeSpaces(line);
    }

    // The regular expressions of tokenizer_re.py, character for character. .NET matches UTF-16 units where
    // Python matches code points; the results agree because the only class that can match half of a surrogate
    // pair, [^0-9], always sits next to an ASCII class, so a match never splits the pair's output.
    [GeneratedRegex(@"([\{-\~\[-\` -\&\(-\+\:-\@\/])")]
    private static partial Regex Symbol();

    [GeneratedRegex(@"([^0-9])([\.,])")]
    private static partial Regex PeriodCommaAfterNonDigit();

    [GeneratedRegex(@"([\.,])([^0-9])")]
    private static partial Regex PeriodCommaBeforeNonDigit();

    [GeneratedRegex(@"([0-9])(-)")]
    private static partial Regex DashAfterDigit();
}

/// <summary>
/// sacreBLEU's tokenizer_intl.py (mteval-v14 international tokenization): splits off punctuation unless it sits
/// between digits, and every symbol.
/// </summary>
internal sealed class TokenizerIntl : BleuTokenizer
{
    public static readonly TokenizerIntl Instance = new();

    public override string Name => "intl";

    // Python's `regex` module matches \p{..} against code points; .NET's Regex sees UTF-16 units and would miss
    // symbols outside the BMP (emoji), so the three substitutions are done over runes instead.
    public override string Tokenize(string line)
    {
        var runes = line.EnumerateRunes().ToList();
        // (\P{N})(\p{P}) -> '\1 \2 '
        runes = SeparatePairs(runes, (first, second) => !IsNumber(first) && IsPunctuation(second), spaceBefore: false);
        // (\p{P})(\P{N}) -> ' \1 \2'
        runes = SeparatePairs(runes, (first, second) => IsPunctuation(first) && !IsNumber(second), spaceBefore: true);

        // (\p{S}) -> ' \1 '
        var text = new StringBuilder(line.Length * 2);
        foreach (var rune in runes)
        {
            if (IsSymbol(rune)) text.Append(' ').Append(rune.ToString()).Append(' ');
            else text.Append(rune.ToString());
        }
        return PythonText.NormalizeSpaces(text.ToString());
    }

    /// <summary>
    /// <c>re.sub</c> of a two-character pattern whose replacement puts a space between the pair and one more
    /// before or after it: matches are found left to right and never overlap.
    /// </summary>
    private static List<Rune> SeparatePairs(List<Rune> runes, Func<Rune, Rune, bool> matches, bool spaceBefore)
    {
        var space = new Rune(' ');
        var result = new List<Rune>(runes.Count * 2);
        for (int i = 0; i < runes.Count; i++)
        {
            if (i + 1 < runes.Count && matches(runes[i], runes[i + 1]))
            {
                if (spaceBefore) result.Add(space);
                result.AddRange([runes[i], space, runes[i + 1]]);
                if (!spaceBefore) result.Add(space);
                i++;
            }
            else
            {
                result.Add(runes[i]);
            }
        }
        return result;
    }

    private static bool IsNumber(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    private static bool IsPunctuation(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
        or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
        or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    private static bool IsSymbol(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
        or UnicodeCategory.OtherSymbol;
}

/// <summary>sacreBLEU's tokenizer_char.py: every character becomes a token.</summary>
internal sealed class TokenizerChar : BleuTokenizer
{
    public static readonly TokenizerChar Instance = new();

    public override string Name => "char";

    // Spaces of the line become tokens of their own here and vanish in BLEU's whitespace split, as in sacreBLEU.
    public override string Tokenize(string line) => PythonText.JoinCodePoints(line);
}

/// <summary>sacreBLEU's tokenizer_none.py: the line as it is.</summary>
internal sealed class TokenizerNone : BleuTokenizer
{
    public static readonly TokenizerNone Instance = new();

    public override string Name => "none";

    public override string Tokenize(string line) => line;
}
