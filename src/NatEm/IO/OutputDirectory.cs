using System.Text.RegularExpressions;

namespace NatEm.IO;

/// <summary>
/// A kind of directory a command writes (prepared data, a training run, an EM run): its name for messages and the
/// pattern of the entries it writes itself, which tells an earlier output of the same kind from anything else.
/// </summary>
public sealed record OutputKind(string Description, Regex OwnEntries)
{
    public bool IsOwn(string entryName) => entryName == DirectoryLock.FileName || OwnEntries.IsMatch(entryName);
}

/// <summary>
/// The one rule for every command that writes a directory of its own (--out): it may be absent, empty or an earlier
/// output of the same kind (which the command then continues or replaces); anything else is refused with a usage error
/// unless --force, so that a mistyped --out never overwrites a model or someone's files. The directory is then locked
/// for the process's lifetime (<see cref="DirectoryLock"/>).
/// </summary>
public static class OutputDirectory
{
    public static DirectoryLock Claim(string dir, OutputKind kind, bool force)
    {
        if (!force) Check(dir, kind);
        return DirectoryLock.Acquire(dir);
    }

    /// <summary>
    /// The rule without the lock, for a process that shares the directory with others of its kind (a shard of a
    /// decoding pass writes only its own parts, atomically): absent, empty or of <paramref name="kind"/>, else a usage error.
    /// </summary>
    public static void Check(string dir, OutputKind kind)
    {
        if (Directory.Exists(dir))
        {
            var foreign = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Where(name => !kind.IsOwn(name!)).Order(StringComparer.Ordinal).ToList();
            if (foreign.Count > 0)
                throw NatEmException.In(dir,
                    $"holds {foreign[0]}{(foreign.Count > 1 ? $" and {foreign.Count - 1} more entries" : "")}, so it is not {kind.Description}; "
                    + "choose another --out, or pass --force to write into it anyway", ExitCodes.Usage);
        }
    }
}
