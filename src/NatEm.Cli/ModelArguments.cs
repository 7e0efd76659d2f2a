using System.CommandLine;
using NatEm.Modeling;

namespace NatEm.Cli;

/// <summary>Model directory options accept run directories too (<see cref="ModelStore.Resolve"/>); the choice is said in one line on stderr.</summary>
public static class ModelArguments
{
    public static string Resolve(ParseResult p, string path)
    {
        var (directory, note) = ModelStore.Resolve(path);
        if (note is not null) p.InvocationConfiguration.Error.WriteLine($"natem: {note}");
        return directory;
    }

    public static string? ResolveOptional(ParseResult p, string? path) => path is null ? null : Resolve(p, path);
}
