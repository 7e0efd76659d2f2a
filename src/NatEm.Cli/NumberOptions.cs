using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace NatEm.Cli;

/// <summary>
/// The one rule for numeric options, applied to every option of the command tree (so an option added later gets it
/// too): whole numbers and decimals are read in the invariant culture, and a decimal must be finite, since NaN and
/// ±∞ pass unnoticed through range checks such as <c>x &lt; 0</c>. A bad value is one line naming the option (exit 2)
/// instead of System.CommandLine's message naming .NET types. The allowed ranges are the option records' checks.
/// </summary>
public static class NumberOptions
{
    public static void ApplyTo(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<double> o: o.CustomParser = r => Parse<double>(r, o.Name) ?? default; break;
                case Option<double?> o: o.CustomParser = r => Parse<double>(r, o.Name); break;
                case Option<int> o: o.CustomParser = r => Parse<int>(r, o.Name) ?? default; break;
                case Option<int?> o: o.CustomParser = r => Parse<int>(r, o.Name); break;
                case Option<long> o: o.CustomParser = r => Parse<long>(r, o.Name) ?? default; break;
                case Option<long?> o: o.CustomParser = r => Parse<long>(r, o.Name); break;
            }
        }
        foreach (var subcommand in command.Subcommands) ApplyTo(subcommand);
    }

    private static T? Parse<T>(ArgumentResult result, string option) where T : struct, INumber<T>
    {
        if (result.Tokens.Count == 0) return null;
        var text = result.Tokens[^1].Value;
        bool whole = typeof(T) != typeof(double);
        var style = whole ? NumberStyles.Integer : NumberStyles.Float;
        if (T.TryParse(text, style, CultureInfo.InvariantCulture, out var value) && T.IsFinite(value)) return value;
        result.AddError(whole ? $"{option} must be a whole number, not '{text}'" : $"{option} must be a finite number, not '{text}'");
        return null;
    }
}
