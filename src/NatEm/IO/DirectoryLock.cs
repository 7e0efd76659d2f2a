using System.Runtime.InteropServices;
using System.Text;

namespace NatEm.IO;

/// <summary>
/// An exclusive lock on an output directory (a training or EM run, prepared data) for as long as the process holds
/// it: the lock file inside it is opened with <see cref="FileShare.None"/>, which .NET takes as flock(LOCK_EX) on
/// Unix, so the kernel releases it when the process ends, kill -9 included. The file holds the holder's PID, which a
/// second process names in its error (exit 5).
/// </summary>
public sealed class DirectoryLock : IDisposable
{
    public const string FileName = ".natem.lock";
    private readonly FileStream stream;

    private DirectoryLock(FileStream stream) => this.stream = stream;

    /// <summary>Creates <paramref name="dir"/> if needed and locks it, or fails (exit 5) naming the process that holds it.</summary>
    public static DirectoryLock Acquire(string dir)
    {
        AtomicFile.CreateDirectory(dir);
        var path = Path.Combine(dir, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (HolderOf(path) is { } holder)
        {
            throw NatEmException.In(dir, $"is in use by another natem process ({holder}); wait for it to end or choose another --out", ExitCodes.Environment);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NatEmException.In(path, $"cannot lock: {e.Message}", ExitCodes.Environment);
        }
        stream.SetLength(0);
        stream.Write(Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
        stream.Flush();
        return new DirectoryLock(stream);
    }

    public void Dispose() => stream.Dispose();

    /// <summary>
    /// "PID n" from a lock file another process holds; null when the file cannot be opened at all. Read with open(2)
    /// and read(2), since .NET's own open would ask for a shared flock and fail while the holder has it.
    /// </summary>
    private static string? HolderOf(string path)
    {
        var fd = open(path, 0 /* O_RDONLY */);
        if (fd < 0) return null;
        try
        {
            var buffer = new byte[32];
            var count = (int)read(fd, buffer, buffer.Length);
            return count > 0 && int.TryParse(Encoding.ASCII.GetString(buffer, 0, count).Trim(), out var pid)
                ? $"PID {pid}"
                : "PID not yet written";
        }
        finally
        {
            close(fd);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [DllImport("libc")]
    private static extern int close(int fd);
}
