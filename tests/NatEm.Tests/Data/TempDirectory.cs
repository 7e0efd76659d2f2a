namespace NatEm.Tests.Data;

/// <summary>A scratch directory for one test class instance, deleted afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("natem-data-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes raw bytes, so tests control BOMs, line endings and invalid UTF-8 exactly.</summary>
    public string Write(string name, byte[] bytes)
    {
        var path = File(name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Write(string name, string text) => Write(name, System.Text.Encoding.UTF8.GetBytes(text));

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
