namespace NatEm.IO;

/// <summary>
/// Writes files so that a reader (or a resumed run) sees either the old content or the complete new
/// content, never a half-written file: write to a temp file beside the target, flush to disk, rename.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw NatEmException.In(path, "is a directory; expected a file name to write", ExitCodes.Environment);
        CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            FileStream stream;
            try
            {
                stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw NatEmException.In(path, $"cannot write: {e.Message}", ExitCodes.Environment);
            }
            try
            {
                using (stream)
                {
                    write(stream);
                    stream.Flush(flushToDisk: true);
                }
                File.Move(tmp, full, overwrite: true);
            }
            catch (IOException e)
            {
                // A full disk (ENOSPC), a quota, an I/O error: one line naming the file, exit 5.
                throw NatEmException.In(path, $"cannot write: {e.Message}", ExitCodes.Environment);
            }
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Creates a directory (and its parents) or says in one line why it cannot (a file in the way, no permission).</summary>
    public static void CreateDirectory(string path)
    {
        if (File.Exists(path)) throw NatEmException.In(path, "is a file; expected a directory", ExitCodes.Environment);
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NatEmException.In(path, $"cannot create directory: {e.Message}", ExitCodes.Environment);
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true); w.Write(text); });

    public static void WriteAllLines(string path, IEnumerable<string> lines) =>
        Write(path, s =>
        {
            using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
            foreach (var line in lines) w.WriteLine(line);
        });

    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="path"/> unless the file exists, so that of several processes
    /// creating the same file at once exactly one succeeds and the others see its complete content. Returns whether this
    /// call created it. The check and the atomic write happen under an exclusive lock on PATH.lock (flock on Unix: it
    /// is released when a process dies), because a rename that never replaces is not atomic everywhere: .NET falls back
    /// to check-then-rename on file systems without hard links, and two shards both "created" the file in CI.
    /// </summary>
    public static bool WriteNew(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var lockPath = full + ".lock";
        // Deleted on close, which is safe: the file exists by then, and whoever locks the old or a new lock file sees it.
        using var held = Lock(lockPath);
        if (File.Exists(full)) return false;
        WriteAllText(full, text);
        return true;
    }

    private static FileStream Lock(string lockPath)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException e) when (e is not DirectoryNotFoundException && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(5);
            }
        }
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>
    /// Fills a temp directory beside <paramref name="path"/> through <paramref name="writeFiles"/>, then renames it into
    /// place (replacing an existing directory), so that the directory is either absent, old or complete.
    /// </summary>
    public static void WriteDirectory(string path, Action<string> writeFiles) => WriteBeside(path, writeFiles, (temp, full) =>
    {
        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        Directory.Move(temp, full);
    });

    /// <summary>
    /// Fills a temp directory beside <paramref name="path"/> through <paramref name="writeFiles"/>, then moves its files
    /// into <paramref name="path"/> (created if absent; kept, with its lock and other entries, if present), deleting
    /// <paramref name="completionMarker"/> first and moving it last. A failure while writing (a full disk) leaves
    /// <paramref name="path"/> as it was; a reader that trusts only a directory with its marker never sees a half-written one.
    /// </summary>
    public static void FillDirectory(string path, string completionMarker, Action<string> writeFiles) => WriteBeside(path, writeFiles, (temp, full) =>
    {
        CreateDirectory(full);
        File.Delete(Path.Combine(full, completionMarker));
        foreach (var file in Directory.GetFiles(temp).Where(f => Path.GetFileName(f) != completionMarker))
            File.Move(file, Path.Combine(full, Path.GetFileName(file)), overwrite: true);
        File.Move(Path.Combine(temp, completionMarker), Path.Combine(full, completionMarker), overwrite: true);
    });

    /// <summary>Runs <paramref name="writeFiles"/> on a fresh temp directory beside <paramref name="path"/>, then <paramref name="publish"/>
    /// (temp, full path); the temp directory is gone afterwards, whatever happened.</summary>
    private static void WriteBeside(string path, Action<string> writeFiles, Action<string, string> publish)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        CreateDirectory(temp);
        try
        {
            writeFiles(temp);
            publish(temp, full);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>
    /// Points the symbolic link <paramref name="link"/> at <paramref name="target"/> (relative to the link's folder, or
    /// absolute), replacing an existing link in one rename(2): a reader sees the old target or the new one, never none.
    /// </summary>
    public static void PointLink(string link, string target)
    {
        var temp = $"{link}.{Environment.ProcessId}.tmp";
        if (Path.Exists(temp) || new FileInfo(temp).LinkTarget is not null) File.Delete(temp);
        File.CreateSymbolicLink(temp, target);
        // File.Move would follow the link to the directory it names.
        if (rename(temp, link) != 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            File.Delete(temp);
            throw NatEmException.In(link, $"cannot point the link at {target} (errno {errno})", ExitCodes.Environment);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int rename(string oldPath, string newPath);
}
