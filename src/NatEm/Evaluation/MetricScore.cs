namespace NatEm.Evaluation;

/// <summary>
/// A corpus or sentence score with sacreBLEU's reproducibility signature. <see cref="Score"/> is unrounded;
/// only <see cref="Format"/> rounds, as sacreBLEU does.
/// </summary>
public abstract record MetricScore(string Name, double Score, IReadOnlyList<KeyValuePair<string, string>> SignatureFields)
{
    /// <summary>The sacreBLEU release whose behaviour and signature format this port reproduces.</summary>
    public const string SacreBleuVersion = "2.4.3";

    /// <summary>The signature as sacreBLEU prints it, e.g. <c>nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3</c>.</summary>
    public string Signature => string.Join('|', SignatureFields.Select(pair => $"{pair.Key}:{pair.Value}"));

    /// <summary>The details sacreBLEU prints after the score (its <c>verbose_score</c>); empty for chrF.</summary>
    public virtual string Verbose => "";

    /// <summary>
    /// sacreBLEU's <c>Score.format</c>: "NAME = SCORE VERBOSE", or "NAME|SIGNATURE = SCORE VERBOSE" with the
    /// signature, the score with <paramref name="width"/> decimals.
    /// </summary>
    public string Format(int width = 2, bool withSignature = false)
    {
        var head = withSignature ? $"{Name}|{Signature}" : Name;
        var line = $"{head} = {FormatScore(width)}";
        return Verbose.Length > 0 ? $"{line} {Verbose}" : line;
    }

    /// <summary>The score with <paramref name="width"/> decimals, rounded as Python's format does.</summary>
    public string FormatScore(int width = 2) => PythonText.Fixed(Score, width);

    /// <summary>sacreBLEU's <c>repr</c> of a score: <see cref="Format"/> with two decimals and no signature.</summary>
    public sealed override string ToString() => Format();

    /// <summary>Signature fields in sacreBLEU's order: nrefs, the metric's own fields, then the version.</summary>
    internal static IReadOnlyList<KeyValuePair<string, string>> SignatureOf(
        int referenceCount, params (string Key, string Value)[] metricFields) =>
    [
        new("nrefs", referenceCount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        .. metricFields.Select(pair => new KeyValuePair<string, string>(pair.Key, pair.Value)),
        new("version", SacreBleuVersion),
    ];
}
