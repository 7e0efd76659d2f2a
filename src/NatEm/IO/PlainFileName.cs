namespace NatEm.IO;

/// <summary>
/// File names read from a file (model.json's tokenizer files, a data manifest's splits and languages) or from a run
/// directory's links name entries of that directory and nothing else, so that a crafted file cannot make natem read or
/// write outside it: no separators, no "." or "..", not rooted, and a symbolic link only to an entry of the same directory.
/// </summary>
public static class PlainFileName
{
    private const int MaxLinkHops = 40;

    public static bool IsPlain(string? name) => !string.IsNullOrEmpty(name) && name != "." && name != ".." && name.IndexOfAny(['/', '\\', '\0']) < 0;

    /// <summary>
    /// The path of <paramref name="name"/> in <paramref name="dir"/>; an error naming <paramref name="source"/> (the file that
    /// gave the name) when the name is not plain or the entry is a link that leads out of <paramref name="dir"/>.
    /// </summary>
    public static string In(string dir, string? name, string source, int exitCode)
    {
        if (!IsPlain(name))
            throw NatEmException.In(source, $"file name '{name}' is not a plain name inside {dir} (no '/', '..' or absolute paths)", exitCode);
        var path = Path.Combine(dir, name!);
        RequireLinksInside(path, relativeTarget: IsPlain, source, exitCode);
        return path;
    }

    /// <summary>
    /// Checks that <paramref name="link"/>, if it is a symbolic link, leads (through every further link) only to paths
    /// below its own folder: relative targets made of plain names, as <see cref="AtomicFile.PointLink"/> writes them in run directories.
    /// </summary>
    public static void RequireLinkInside(string link, string source, int exitCode) =>
        RequireLinksInside(link, target => target.Split('/').All(IsPlain), source, exitCode);

    private static void RequireLinksInside(string path, Func<string, bool> relativeTarget, string source, int exitCode)
    {
        for (var hop = 0; new FileInfo(path).LinkTarget is { } target; hop++)
        {
            if (hop == MaxLinkHops || Path.IsPathRooted(target) || !relativeTarget(target))
                throw NatEmException.In(source, $"{path} is a link to {target}, outside its directory; refusing to follow it", exitCode);
            path = Path.Combine(Path.GetDirectoryName(path)!, target);
        }
    }
}
