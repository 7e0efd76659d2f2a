using System.Diagnostics;
using NatEm.Cli;
using NatEm.Tests.Em;

namespace NatEm.Tests.Cli;

/// <summary>
/// The CLI re-executes itself with tcmalloc preloaded where tcmalloc is installed (same pid, same streams, same
/// arguments), and keeps the C library's allocator when told to or when tcmalloc is missing.
/// </summary>
public sealed class NativeAllocatorTests
{
    private static string Train(string? allocator)
    {
        var data = TinyPreparedData.Create(trainPairs: 40).Directory;
        var info = CliProcess.StartInfo(["train-ar", "--data", data, "--out", SyntheticTask.TempDir(), "--preset", "tiny", "--max-updates", "1", "--threads", "1"]);
        info.Environment.Remove("LD_PRELOAD");
        if (allocator is null) info.Environment.Remove(NativeAllocator.Variable);
        else info.Environment[NativeAllocator.Variable] = allocator;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "train-ar did not finish in 2 minutes");
        Assert.True(process.ExitCode == ExitCodes.Ok, $"exit code {process.ExitCode}: {errors.Result}");
        return output.Result;
    }

    [Fact]
    public void The_cli_runs_on_tcmalloc_where_it_is_installed_with_its_arguments_intact()
    {
        var output = Train(allocator: null);
        Assert.Contains($"\"allocator\": \"{(NativeAllocator.TcmallocLibrary is not null && OperatingSystem.IsLinux() ? "tcmalloc" : "system")}\"", output);
        Assert.Contains("\"max_updates\": 1,", output);
    }

    [Fact]
    public void NATEM_ALLOCATOR_system_keeps_the_C_library_allocator()
    {
        var output = Train(allocator: "system");
        Assert.Contains("\"allocator\": \"system\"", output);
    }
}
