using System.Runtime.InteropServices;

namespace NatEm.Modeling;

/// <summary>Facts about the CPU from /proc/cpuinfo (Linux x64 only; elsewhere nothing is known).</summary>
internal static class CpuInfo
{
    /// <summary>The value of the first "<paramref name="field"/> : value" line, or null when unknown.</summary>
    public static string? Field(string field)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line?[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
