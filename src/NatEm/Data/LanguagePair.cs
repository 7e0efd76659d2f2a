namespace NatEm.Data;

/// <summary>
/// The language codes a model translates between (e.g. en → es), as prepare's <c>--src</c>/<c>--tgt</c> named them.
/// Recorded in the data manifest and copied into every model.json trained on that data; serve's LibreTranslate
/// routes answer with them.
/// </summary>
public sealed record LanguagePair(string Source, string Target)
{
    /// <summary>Parses <c>SRC:TGT</c> (e.g. <c>en:es</c>); anything else is a usage error naming <paramref name="option"/>.</summary>
    public static LanguagePair Parse(string text, string option)
    {
        var parts = text.Split(':');
        if (parts.Length != 2 || !IsCode(parts[0]) || !IsCode(parts[1]) || parts[0] == parts[1])
            throw new NatEmException($"{option}: '{text}' is not SRC:TGT with two different language codes (letters, digits, '-' or '_'), e.g. en:es", ExitCodes.Usage);
        return new LanguagePair(parts[0], parts[1]);
    }

    private static bool IsCode(string code) => code.Length is > 0 and <= 35 && code.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public override string ToString() => $"{Source} → {Target}";
}
