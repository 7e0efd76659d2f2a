using System.Diagnostics;
using System.Text.RegularExpressions;
using NatEm.Cli;
using NatEm.Modeling;
using NatEm.Tests.Em;

namespace NatEm.Tests.Cli;

/// <summary>
/// What the CLI does at start-up, before any command: it re-executes itself with tcmalloc preloaded where tcmalloc is
/// installed (same pid, same streams, same arguments), keeping the C library's allocator when told to or when tcmalloc
/// is missing; and on AMD it patches oneMKL's vendor check before the first matrix product. Each test starts a fresh
/// natem process, so the start-up path is the one a user runs.
/// </summary>
public sealed class NativeAllocatorTests : IDisposable
{
    private readonly string directory = SyntheticTask.TempDir();
    private readonly string data = TinyPreparedData.Create(trainPairs: 40).Directory;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Train(IReadOnlyDictionary<string, string?> environment)
    {
        var info = CliProcess.StartInfo(["train-ar", "--data", data, "--out", Path.Combine(directory, Guid.NewGuid().ToString("N")), "--preset", "tiny",
            "--max-updates", "2", "--log-every", "1", "--threads", "1", "--precision", "Fp32"]);
        info.Environment.Remove("LD_PRELOAD");
        foreach (var (name, value) in environment)
        {
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        }
        var (exitCode, output, errors) = CliProcess.Run(info, TimeSpan.FromMinutes(2));
        Assert.True(exitCode == ExitCodes.Ok, $"exit code {exitCode}: {errors}");
        return output;
    }

    /// <summary>A string setting of the training configuration a command printed.</summary>
    public static string Configured(string output, string name) => Regex.Match(output, $"\"{name}\": \"([^\"]*)\"").Groups[1].Value;

    /// <summary>An AMD x64 Linux CPU, where the CLI patches oneMKL's vendor check.</summary>
    public static bool Amd => OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64
        && File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("vendor_id", StringComparison.Ordinal) && l.EndsWith("AuthenticAMD", StringComparison.Ordinal));

    private static IEnumerable<string> Losses(string output) => Regex.Matches(output, "loss[ =:]+([0-9.]+)").Select(m => m.Groups[1].Value);

    [Fact]
    public void The_cli_runs_on_tcmalloc_where_it_is_installed_with_its_arguments_intact()
    {
        // CI installs tcmalloc (.ci/run), so that the re-exec path runs there rather than being skipped.
        if (Environment.GetEnvironmentVariable("CI") == "true" && OperatingSystem.IsLinux())
            Assert.True(NativeAllocator.TcmallocLibrary is not null, "CI must install libtcmalloc-minimal4 so that this test exercises the re-exec");
        var output = Train(new Dictionary<string, string?> { [NativeAllocator.Variable] = null });
        Assert.Equal(NativeAllocator.TcmallocLibrary is not null && OperatingSystem.IsLinux() ? "tcmalloc" : "system", Configured(output, "allocator"));
        Assert.Contains("\"max_updates\": 2,", output);
    }

    [Fact]
    public void NATEM_ALLOCATOR_system_keeps_the_C_library_allocator()
    {
        var output = Train(new Dictionary<string, string?> { [NativeAllocator.Variable] = "SYSTEM" });
        Assert.Equal("system", Configured(output, "allocator"));
    }

    [Fact]
    public void The_cli_patches_onemkl_at_start_up_on_amd_unless_told_to_keep_it_and_trains_the_same_either_way()
    {
        bool amd = Amd;
        var patched = Train(new Dictionary<string, string?> { [MklOnAmd.OptOutVariable] = null, [NativeAllocator.Variable] = "system" });
        var kept = Train(new Dictionary<string, string?> { [MklOnAmd.OptOutVariable] = "Keep", [NativeAllocator.Variable] = "system" });

        Assert.Equal(amd ? nameof(MklOnAmd.Outcome.Patched) : nameof(MklOnAmd.Outcome.NotAmd), Configured(patched, "mkl_vendor_check"));
        Assert.Equal(amd ? nameof(MklOnAmd.Outcome.OptedOut) : nameof(MklOnAmd.Outcome.NotAmd), Configured(kept, "mkl_vendor_check"));
        // The kernels oneMKL picks once patched compute the same training run, to the printed digits.
        Assert.NotEmpty(Losses(patched));
        Assert.Equal(Losses(kept), Losses(patched));
    }
}
