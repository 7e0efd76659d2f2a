using System.CommandLine;
using System.Globalization;

namespace NatEm.Cli;

/// <summary>
/// The options several commands take, each declared here once: its name, its description and its checks. Every call
/// makes a fresh instance, since a command owns its options. (--threads and --precision are
/// <see cref="RuntimeOptionsBinder"/>'s, --api-key and --api-key-file <see cref="ApiKeyOptions"/>'.)
/// </summary>
public static class SharedOptions
{
    /// <summary>`--out`, the directory a command writes into; <paramref name="contents"/> says what it holds.</summary>
    /// <param name="defaultDirectory">Null: the option is required.</param>
    public static Option<string> Out(string contents, string? defaultDirectory = null) => new("--out")
    {
        Description = $"{OutPrefix}{contents}", Required = defaultDirectory is null, DefaultValueFactory = defaultDirectory is null ? null : _ => defaultDirectory,
    };

    public const string OutPrefix = "Directory to write: ";

    /// <summary>`--force` of the commands that claim their --out (<see cref="IO.OutputDirectory"/>); <paramref name="kind"/> names what --out normally holds.</summary>
    public static Option<bool> Force(string kind) => new("--force") { Description = $"{ForcePrefix}{kind}" };

    public const string ForcePrefix = "Write into --out even when it holds files that are not ";

    public static Option<string> Data() => new("--data") { Description = "Prepared data directory (natem prepare)", Required = true };

    public static Option<string> Model() =>
        new("--model") { Description = "Model directory (a checkpoint, an EM model, an averaged or exported model), or a run directory: its checkpoint_best (else checkpoint_last)", Required = true };

    public static Option<bool> Json() => new("--json") { Description = "Print the result as JSON instead of text" };

    /// <summary>`--split` of the commands that decode a prepared split.</summary>
    public static Option<string> Split() => new("--split") { Description = "Split of --data to decode", DefaultValueFactory = _ => "test" };

    /// <summary>`--limit`: the first N sentences of --split; below 1 is a usage error (a value that is no number, <see cref="NumberOptions"/>').</summary>
    public static Option<int?> Limit()
    {
        var option = new Option<int?>("--limit") { Description = "Decode only the first N sentences of the split (default: all)" };
        option.Validators.Add(r => { if (r.Tokens is [.., var t] && int.TryParse(t.Value, CultureInfo.InvariantCulture, out int n) && n < 1) r.AddError("--limit must be at least 1"); });
        return option;
    }

    /// <summary>Adds a binder's or a <see cref="RecordOptions{TRecord}"/>' options to a command, also in its collection initializer.</summary>
    public static void Add(this Command command, IEnumerable<Option> options) => options.ToList().ForEach(command.Options.Add);

    public const string DistillBeamDescription = "Beam of the AR model's distillation pass";
    /// <summary>em's criterion, and the score score-nar prints with it.</summary>
    public const string SelectionScoreDescription = "Selection criterion: Total (log p_NAR(y|x), the paper's) or PerToken (divided by |y|+1, no bias toward short candidates)";

    public static Option<int?> TrainLimit() => new("--train-limit") { Description = "Train on the first N training pairs only" };
}
