using System.CommandLine;

namespace NatEm.Cli;

/// <summary>
/// Options whose value is one of an enum's names (--decoder, --precision, --best-metric, ...): one parser for all of
/// them, case-insensitive, and one error, a single line listing the allowed names (exit code 2 from the command line).
/// </summary>
public static class EnumOptions
{
    /// <summary>
    /// An option taking one of <typeparamref name="T"/>'s names; absent, it is null and the options record's default applies,
    /// or <paramref name="defaultValue"/> if given (an option with no record), which the help shows as the records' are.
    /// </summary>
    public static Option<T?> Create<T>(string name, string description, T? defaultValue = null) where T : struct, Enum => new(name)
    {
        Description = description,
        DefaultValueFactory = defaultValue is { } value ? _ => value : null,
        HelpName = string.Join('|', Enum.GetNames<T>()),
        CustomParser = result =>
        {
            var text = result.Tokens.Single().Value;
            if (TryParse<T>(text, out var value)) return value;
            result.AddError(Error<T>(name, text));
            return null;
        },
    };

    /// <summary>One name of <typeparamref name="T"/>, in any case (not a number, nor a comma-separated combination).</summary>
    public static bool TryParse<T>(string text, out T value) where T : struct, Enum
    {
        var name = Enum.GetNames<T>().FirstOrDefault(n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
        value = name is null ? default : Enum.Parse<T>(name);
        return name is not null;
    }

    /// <summary>The value of <paramref name="option"/>, or a usage error listing the allowed names.</summary>
    public static T Parse<T>(string option, string text) where T : struct, Enum =>
        TryParse<T>(text, out var value) ? value : throw new NatEmException(Error<T>(option, text), ExitCodes.Usage);

    /// <summary>
    /// An option taking one of <paramref name="names"/> (exactly as written: names like "chrf++" or "13a" are no enum's),
    /// <paramref name="defaultName"/> when absent; another value is the same one-line error as an enum option's.
    /// </summary>
    public static Option<string> Choice(string name, string description, IReadOnlyList<string> names, string defaultName)
    {
        var option = new Option<string>(name) { Description = description, HelpName = string.Join('|', names), DefaultValueFactory = _ => defaultName };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && result.Tokens[^1].Value is var text && !names.Contains(text)) result.AddError(Error(name, names, text));
        });
        return option;
    }

    /// <summary>"A, B or C".</summary>
    public static string Names<T>() where T : struct, Enum => Names(Enum.GetNames<T>());

    private static string Names(IReadOnlyList<string> names) =>
        names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}";

    public static string Error<T>(string option, string text) where T : struct, Enum => Error(option, Enum.GetNames<T>(), text);

    private static string Error(string option, IReadOnlyList<string> names, string text) => $"{option} must be {Names(names)}, not '{text}'";
}
