using System.Diagnostics;
using NatEm.Data;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Tests.Cli;
using NatEm.Tests.Data;
using NatEm.Tests.Em;

namespace NatEm.Tests.Reliability;

/// <summary>
/// Commands that write a directory never overwrite one of another kind without --force, announce only splits they write,
/// and leave no half-written directory on a full disk.
/// </summary>
public sealed class OutputDirectoryTests : IDisposable
{
    private readonly TempDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    /// <summary>A corpus TSV of <paramref name="pairs"/> synthetic sentence pairs.</summary>
    private string Corpus(int pairs, string name = "c.tsv")
    {
        var random = new Random(pairs);
        string[] words = ["red", "blue", "cat", "dog", "sees", "eats", "big", "small", "the", "a", "fish", "bird"];
        string Sentence() => string.Join(' ', Enumerable.Range(0, random.Next(3, 9)).Select(_ => words[random.Next(words.Length)]));
        return scratch.Write(name, "en\tes\n" + string.Concat(Enumerable.Range(0, pairs).Select(_ => $"{Sentence()}\t{Sentence()}\n")));
    }

    private static string Snapshot(string dir) =>
        string.Join("\n", Directory.GetFiles(dir).Order(StringComparer.Ordinal).Select(f => $"{Path.GetFileName(f)} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}"));

    [Fact]
    public void PrepareRefusesAModelDirectoryUnlessForced()
    {
        var model = scratch.File("model");
        Directory.CreateDirectory(model);
        foreach (var name in new[] { ModelStore.ManifestFile, ModelStore.WeightsFile, "vocab.json", "merges.txt" }) File.WriteAllText(Path.Combine(model, name), $"the model's {name}");
        var before = Snapshot(model);
        var corpus = Corpus(100);

        var (exitCode, _, error) = TinyModels.Run("prepare", "--corpus", corpus, "--out", model, "--merges", "20");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains($"{model}: holds model.json and 1 more entries, so it is not a prepared data directory", error);
        Assert.Contains("--force", error);
        Assert.Equal(before, Snapshot(model));

        Assert.Equal(ExitCodes.Ok, TinyModels.Run("prepare", "--corpus", corpus, "--out", model, "--merges", "20", "--force").ExitCode);
        Assert.Equal("the model's model.json", File.ReadAllText(Path.Combine(model, ModelStore.ManifestFile)));
        PreparedData.Load(model);
    }

    [Fact]
    public void PrepareReplacesAnEarlierPreparationInPlace()
    {
        var output = scratch.File("data");
        Assert.Equal(ExitCodes.Ok, TinyModels.Run("prepare", "--corpus", Corpus(100), "--out", output, "--merges", "20").ExitCode);
        var (exitCode, _, error) = TinyModels.Run("prepare", "--corpus", Corpus(200, "d.tsv"), "--out", output, "--merges", "20");
        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Equal(200, PreparedData.Load(output).Manifest.Splits.Sum(s => s.Read));
    }

    [Fact]
    public void TrainingAndEmRefuseADirectoryOfAnotherKind()
    {
        var data = TinyPreparedData.Create().Directory;
        var before = Snapshot(data);
        foreach (var command in new[] { "train-ar", "train-nar", "em" })
        {
            var (exitCode, _, error) = TinyModels.Run(command, "--data", data, "--out", data, "--preset", "tiny", "--max-updates", "1");
            Assert.True(exitCode == ExitCodes.Usage, $"{command}: {error}");
            Assert.Contains($"{data}: holds ", error);
            Assert.Equal(before, Snapshot(data));
        }
    }

    [Fact]
    public void ATinyCorpusFailsAtOnceNamingTheMinimumInsteadOfAnnouncingSplitsItCannotWrite()
    {
        var output = scratch.File("data");

        var (exitCode, _, error) = TinyModels.Run("prepare", "--corpus", Corpus(3), "--out", output, "--merges", "5");

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains($"has 3 sentence pairs; the default valid and test hold-out (5% each) needs at least {PrepareOptions.MinimumPairsForDefaultHoldOut}", error);
        Assert.False(Path.Exists(output));

        // At the minimum, the splits it announces are there.
        Assert.Equal(ExitCodes.Ok, TinyModels.Run("prepare", "--corpus", Corpus(PrepareOptions.MinimumPairsForDefaultHoldOut), "--out", output, "--merges", "5").ExitCode);
        Assert.Equal(["train", "valid", "test"], PreparedData.Load(output).Manifest.Splits.Select(s => s.Name));
    }

    [Fact]
    public void AWriteFailureWhileFillingADirectoryLeavesItAsItWas()
    {
        var output = scratch.File("data");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "manifest.json"), "old");
        var full = new IOException("No space left on device", unchecked((int)0x8007001C) /* ENOSPC's HResult on Unix: 28 */);

        Assert.Throws<IOException>(() => AtomicFile.FillDirectory(output, "manifest.json", temp =>
        {
            File.WriteAllText(Path.Combine(temp, "train.src.bin"), "new");
            throw full;
        }));

        Assert.Equal(["manifest.json"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Equal("old", File.ReadAllText(Path.Combine(output, "manifest.json")));
        Assert.Equal(["data"], Directory.GetFileSystemEntries(scratch.Path).Select(Path.GetFileName).Where(name => name!.Contains("data", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void PrepareOnAFullDiskExits5InOneLineAndLeavesNoDirectory()
    {
        // A 64 KB tmpfs mounted in a user namespace (no root needed where unprivileged user namespaces are allowed);
        // what is left in it is listed from inside the namespace, since the mount ends with it.
        var mountPoint = scratch.File("small-disk");
        Directory.CreateDirectory(mountPoint);
        const string Script = """
            mount -t tmpfs -o size=64k tmpfs "$1" || exit 97
            "$2" prepare --corpus "$3" --out "$1/data" --merges 50
            code=$?
            echo "left: $(ls -A "$1" | tr '\n' ' ')"
            exit $code
            """;
        var info = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--user", "--map-root-user", "--mount", "sh", "-c", Script, "sh", mountPoint, CliProcess.StartInfo([]).FileName, Corpus(3000) })
            info.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new SkipException("unshare(1) is not installed");
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "prepare did not finish in 2 minutes");
            Skip.If(process.ExitCode == 97 || error.Result.StartsWith("unshare:", StringComparison.Ordinal), $"cannot mount a tmpfs in a user namespace here: {error.Result.Trim()}");

            Assert.True(process.ExitCode == ExitCodes.Environment, error.Result);
            var errorLine = Assert.Single(error.Result.TrimEnd('\n').Split('\n'));
            Assert.StartsWith("natem: error: ", errorLine);
            Assert.Contains("No space left on device", errorLine);
            Assert.EndsWith("left: \n", output);
        }
    }
}
