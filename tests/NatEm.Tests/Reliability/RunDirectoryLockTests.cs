using System.Diagnostics;
using NatEm.IO;
using NatEm.Tests.Cli;
using NatEm.Tests.Em;

namespace NatEm.Tests.Reliability;

/// <summary>
/// Two processes never write one run directory: the second exits 5 naming the first's PID, and a killed holder's lock
/// is released by the kernel.
/// </summary>
public sealed class RunDirectoryLockTests
{
    [Fact]
    public void ASecondLockOnTheSameDirectoryIsRefusedNamingTheHolder()
    {
        var dir = SyntheticTask.TempDir();
        using (DirectoryLock.Acquire(dir))
        {
            var error = Assert.Throws<NatEmException>(() => DirectoryLock.Acquire(dir));
            Assert.Equal(ExitCodes.Environment, error.ExitCode);
            Assert.Contains($"PID {Environment.ProcessId}", error.Message);
        }
        using (DirectoryLock.Acquire(dir)) { }
    }

    [Fact]
    public void ASecondTrainingRunIntoTheSameDirectoryExits5UntilTheFirstIsKilled()
    {
        var data = TinyPreparedData.Create().Directory;
        var run = Path.Combine(SyntheticTask.TempDir(), "run");
        // The first run would train for hours; the second, were it not refused, for a moment (the test stays bounded).
        string[] Train(int seed, int updates) => ["train-ar", "--data", data, "--out", run, "--preset", "tiny", "--max-updates", updates.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--validate-every", "1000000", "--max-tokens", "256", "--threads", "1", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)];

        using var first = Process.Start(CliProcess.StartInfo(Train(1, 1_000_000)))!;
        first.OutputDataReceived += (_, _) => { };
        first.ErrorDataReceived += (_, _) => { };
        first.BeginOutputReadLine();
        first.BeginErrorReadLine();
        try
        {
            // The first run holds the lock once it has written its PID there (bounded wait: 60 s).
            var lockFile = Path.Combine(run, DirectoryLock.FileName);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!Locked(lockFile) && !first.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.False(first.HasExited, "the first run ended before the test could start the second");
            Assert.True(Locked(lockFile), "the first run did not lock its run directory within 60 s");

            var (exitCode, _, error) = TinyModels.Run(Train(2, 2));
            Assert.Equal(ExitCodes.Environment, exitCode);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
            Assert.Contains($"PID {first.Id}", error);
        }
        finally
        {
            first.Kill(); // SIGKILL: no clean-up code runs in the first process
            first.WaitForExit();
        }
        using (DirectoryLock.Acquire(run)) { }
    }

    /// <summary>Whether another process holds the lock file (and has written its PID).</summary>
    private static bool Locked(string lockFile)
    {
        if (!File.Exists(lockFile)) return false;
        try
        {
            using (new FileStream(lockFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)) return false;
        }
        catch (IOException)
        {
            return true;
        }
    }
}
