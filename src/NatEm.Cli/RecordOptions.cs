using System.Collections;
using System.CommandLine;

namespace NatEm.Cli;

/// <summary>
/// Flags that each set one property of an options record (<see cref="Training.TrainingOptions"/>,
/// <see cref="Decoding.TranslationOptions"/>, ...). The help shows each property's value in <c>defaults</c>
/// ("[default: …]"), and <see cref="Apply"/> sets only the flags given, so every other property keeps the value of the
/// record it is applied to: the defaults, or a baseline such as EM's or the demo's. A default is written in its record only.
/// </summary>
public sealed class RecordOptions<TRecord>(TRecord defaults) : IEnumerable<Option> where TRecord : class
{
    private readonly List<(Option Option, Func<ParseResult, TRecord, TRecord> Apply)> _flags = [];

    /// <summary><paramref name="record"/> (else <c>defaults</c>) with the flags given in <paramref name="p"/> set.</summary>
    public TRecord Apply(ParseResult p, TRecord? record = default) => _flags.Aggregate(record ?? defaults, (r, flag) => flag.Apply(p, r));

    /// <summary>A flag made elsewhere (an enum's, a shared one) for a property; its help shows the default unless that is null.</summary>
    public Option<T?> Add<T>(Option<T?> option, Func<TRecord, T?> get, Func<TRecord, T, TRecord> set) where T : struct =>
        Register(WithDefault(option, get(defaults)), (o, p, r) => p.GetValue(o) is { } given ? set(r, given) : r);

    /// <summary>A number flag for a property that always has a value.</summary>
    public Option<T?> Add<T>(string name, string description, Func<TRecord, T> get, Func<TRecord, T, TRecord> set) where T : struct =>
        Add(new Option<T?>(name) { Description = description }, r => get(r), set);

    /// <summary>A number flag for a property that may be null (the description says what null means).</summary>
    public Option<T?> Add<T>(string name, string description, Func<TRecord, T?> get, Func<TRecord, T, TRecord> set) where T : struct =>
        Add(new Option<T?>(name) { Description = description }, get, set);

    /// <summary>A text flag.</summary>
    public Option<string?> Add(string name, string description, Func<TRecord, string?> get, Func<TRecord, string, TRecord> set) =>
        Register(WithDefault(new Option<string?>(name) { Description = description }, get(defaults)), (o, p, r) => p.GetValue(o) is { } given ? set(r, given) : r);

    /// <summary>A switch: given, it applies <paramref name="set"/>.</summary>
    public Option<bool> Add(string name, string description, Func<TRecord, TRecord> set) =>
        Register(new Option<bool>(name) { Description = description }, (o, p, r) => p.GetValue(o) ? set(r) : r);

    private static Option<TValue> WithDefault<TValue>(Option<TValue> option, TValue value)
    {
        if (value is not null) option.DefaultValueFactory = _ => value;
        return option;
    }

    private TOption Register<TOption>(TOption option, Func<TOption, ParseResult, TRecord, TRecord> applyGiven) where TOption : Option
    {
        _flags.Add((option, (p, r) => p.GetResult(option) is { Implicit: false } ? applyGiven(option, p, r) : r));
        return option;
    }

    public IEnumerator<Option> GetEnumerator() => _flags.Select(flag => flag.Option).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
