using System.Diagnostics;
using NatEm.Cli;
using NatEm.Modeling;
using NatEm.Tests.Cli;
using NatEm.Tests.Em;
using NatEm.Tests.Shipped;

namespace NatEm.Tests.Packaging;

/// <summary>
/// `dotnet pack` of the CLI and of the library into one local feed, once for the tests of <see cref="PackagesTests"/>.
/// The packages get a version of their own (PackageVersion only, so nothing is recompiled): no package NuGet cached
/// earlier under the same version can stand in for them.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public string Root { get; } = SyntheticTask.TempDir();
    public string Feed => Path.Combine(Root, "feed");
    public string Version { get; } = $"0.1.0-test.{Guid.NewGuid():N}"[..24];

    public PackedFeed()
    {
        foreach (var project in new[] { "src/NatEm.Cli", "src/NatEm" })
            Dotnet.Run(Root, TimeSpan.FromMinutes(8), "pack", ShippedModelTests.RepositoryPath(project), "-c", Configuration, "-o", Feed,
                $"-p:PackageVersion={Version}");
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>Runs the dotnet CLI as a user would, with no build server left running afterwards.</summary>
public static class Dotnet
{
    public static string Run(string workingDirectory, TimeSpan patience, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        if (arguments[0] is "pack" or "build") info.ArgumentList.Add("--disable-build-servers");
        // `dotnet test` runs this test host with its own MSBuild's variables set; the child is a fresh command.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "MSBUILD_EXE_PATH").ToList())
            info.Environment.Remove(name);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        var (exitCode, output, errors) = CliProcess.Run(info, patience);
        Assert.True(exitCode == 0, $"dotnet {string.Join(' ', arguments)} exited {exitCode}:\n{output}\n{errors}");
        return output;
    }
}

/// <summary>
/// The two packages work where they are installed, outside this repository: the `natem` tool from `dotnet tool install`
/// (its libtorch, GLIBCXX fix, tcmalloc re-exec and oneMKL patch included), and the NatEm library from the sample
/// application in samples/, built against the package from the local feed.
/// </summary>
public sealed class PackagesTests(PackedFeed packages) : IClassFixture<PackedFeed>
{
    private static readonly string[] Sentences = ["red cat sees the dog", "", "a big fish", "the small dog sees a red fish"];

    [Fact]
    public void The_packed_tool_installs_into_a_tool_path_and_trains_and_translates_as_the_cli_built_here_does()
    {
        var tools = Path.Combine(packages.Root, "tools");
        Dotnet.Run(packages.Root, TimeSpan.FromMinutes(4), "tool", "install", "--tool-path", tools, "--add-source", packages.Feed,
            "--version", packages.Version, "NatEm.Cli");
        var natem = Path.Combine(tools, "natem");

        var help = Natem(natem, ["--help"]);
        Assert.Contains("translate", help);
        Assert.Contains("train-ar", help);

        // The installed tool's own start-up: tcmalloc re-exec where tcmalloc is installed, oneMKL's vendor check on AMD.
        var data = TinyPreparedData.Create(trainPairs: 40).Directory;
        var run = Path.Combine(packages.Root, "run");
        var trained = Natem(natem, ["train-ar", "--data", data, "--out", run, "--preset", "tiny", "--max-updates", "3", "--threads", "1", "--precision", "Fp32"],
            environment =>
            {
                environment.Remove(NativeAllocator.Variable);
                environment.Remove(MklOnAmd.OptOutVariable);
            });
        Assert.Equal(NativeAllocator.TcmallocLibrary is not null ? "tcmalloc" : "system", NativeAllocatorTests.Configured(trained, "allocator"));
        Assert.Equal(NativeAllocatorTests.Amd ? nameof(MklOnAmd.Outcome.Patched) : nameof(MklOnAmd.Outcome.NotAmd), NativeAllocatorTests.Configured(trained, "mkl_vendor_check"));

        var input = Path.Combine(packages.Root, "input.txt");
        File.WriteAllLines(input, Sentences);
        var translated = Natem(natem, ["translate", "--model", run, "--input", input, "--precision", "Fp32"]);
        var (exitCode, expected, error) = TinyModels.Run("translate", "--model", run, "--input", input, "--precision", "Fp32");
        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Equal(Sentences.Length, translated.Split('\n').Length - 1);
        Assert.Equal(expected, translated);
    }

    [Fact]
    public void The_sample_builds_against_the_library_package_and_translates_as_the_library_does()
    {
        var sample = Path.Combine(packages.Root, "sample");
        Directory.CreateDirectory(sample);
        foreach (var file in new[] { "NatEm.Sample.csproj", "Program.cs" })
            File.Copy(ShippedModelTests.RepositoryPath(Path.Combine("samples", "NatEm.Sample", file)), Path.Combine(sample, file));
        // The sample's nuget.config names the repository's artifacts/packages; this copy's names the test's feed.
        File.WriteAllText(Path.Combine(sample, "nuget.config"),
            $"""<configuration><packageSources><add key="natem-test" value="{packages.Feed}" /></packageSources></configuration>""");

        // Packages restore into a folder of the test's (outside the project, whose *.cs it would compile), reusing the
        // ones this machine already has; linux-x64 only, so that the build copies one platform's libtorch.
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        Dotnet.Run(sample, TimeSpan.FromMinutes(4), "build", "-c", "Release", "-r", "linux-x64", $"-p:NatEmVersion={packages.Version}",
            $"-p:RestorePackagesPath={Path.Combine(packages.Root, "packages")}", $"-p:RestoreFallbackFolders={globalPackages}");

        var model = ShippedModelTests.RepositoryPath("models/bible.en-es/nar");
        string[] texts = ["In the beginning God created the heavens and the earth.", "", "And God said, Let there be light: and there was light."];
        var info = new ProcessStartInfo(Path.Combine(sample, "bin", "Release", "net10.0", "linux-x64", "NatEm.Sample"))
        { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[model, .. texts]) info.ArgumentList.Add(argument);
        var (exitCode, output, errors) = CliProcess.Run(info, TimeSpan.FromMinutes(2));
        Assert.True(exitCode == 0, $"the sample exited {exitCode}: {errors}");

        using var translator = NatEmTranslator.Load(model);
        Assert.Equal(translator.Translate(texts), output.Split('\n')[..^1]);
        Assert.Contains("principio", output);

        info.ArgumentList[0] = Path.Combine(packages.Root, "no-such-model");
        var (missingExit, _, missingErrors) = CliProcess.Run(info, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.BadModel, missingExit);
        Assert.Contains("no-such-model", missingErrors);
    }

    private static string Natem(string natem, string[] arguments, Action<IDictionary<string, string?>>? environment = null)
    {
        var info = new ProcessStartInfo(natem) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment.Remove("LD_PRELOAD");
        environment?.Invoke(info.Environment);
        var (exitCode, output, errors) = CliProcess.Run(info, TimeSpan.FromMinutes(2));
        Assert.True(exitCode == ExitCodes.Ok, $"natem {string.Join(' ', arguments)} exited {exitCode}: {errors}");
        return output;
    }
}
