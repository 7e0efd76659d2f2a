using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Tests.Cli;
using NatEm.Tests.Data;

namespace NatEm.Tests.Reliability;

/// <summary>
/// File names read from model.json, a data manifest or a run directory's links stay inside that directory: a crafted
/// model cannot make `export` write (or change the mode of) a file elsewhere, nor copy a file from elsewhere.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class ContainedFileNameTests(TinyModels models)
{
    /// <summary>A copy of the tiny AR model whose model.json lists <paramref name="tokenizerFile"/> among its tokenizer files.</summary>
    private string ModelListing(string tokenizerFile, string? dir = null)
    {
        dir ??= models.NewPath("crafted-model");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(models.Ar)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var manifestPath = Path.Combine(dir, ModelStore.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["tokenizer"]!["files"]!.AsArray().Add(tokenizerFile);
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        return dir;
    }

    private static void AssertOneLineBadModelError((int ExitCode, string Output, string Error) result, string names)
    {
        Assert.True(result.ExitCode == ExitCodes.BadModel, result.Error);
        Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
        Assert.Contains(names, result.Error);
    }

    [Fact]
    public void ExportRefusesATokenizerFileNameThatClimbsOutOfTheModelDirectory()
    {
        var root = models.NewPath("deep");
        var model = ModelListing("../../a/secret.txt", Path.Combine(root, "m1", "m2", "model"));
        // The file the crafted name reads exists (root/m1/a/secret.txt), as in an attack; exported to root/d2/x, the old
        // code wrote its copy to root/a/secret.txt.
        Directory.CreateDirectory(Path.Combine(root, "m1", "a"));
        File.WriteAllText(Path.Combine(root, "m1", "a", "secret.txt"), "outside the model");
        var output = Path.Combine(root, "d2", "x");
        Directory.CreateDirectory(Path.Combine(root, "d2"));
        var secret = Path.Combine(root, "a", "secret.txt");

        AssertOneLineBadModelError(TinyModels.Run("export", "--model", model, "--out", output), "../../a/secret.txt");
        Assert.False(Path.Exists(secret));
        Assert.False(Path.Exists(output));
    }

    // File modes are Unix's.
    [Fact, UnsupportedOSPlatform("windows")]
    public void ExportRefusesAnAbsoluteTokenizerFileAndLeavesItsModeAlone()
    {
        var secret = models.NewPath("secret.txt");
        File.WriteAllText(secret, "private");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var output = models.NewPath("export");

        AssertOneLineBadModelError(TinyModels.Run("export", "--model", ModelListing(secret), "--out", output), secret);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secret));
        Assert.Equal("private", File.ReadAllText(secret));
        Assert.False(Path.Exists(output));
    }

    [Fact]
    public void ExportDoesNotFollowATokenizerFileLinkOutOfTheModelDirectory()
    {
        var outside = models.NewPath("outside.txt");
        File.WriteAllText(outside, "not part of the model");
        var model = ModelListing("notes.txt");
        File.CreateSymbolicLink(Path.Combine(model, "notes.txt"), outside);
        var output = models.NewPath("export");

        AssertOneLineBadModelError(TinyModels.Run("export", "--model", model, "--out", output), outside);
        Assert.False(Path.Exists(output));
    }

    [Fact]
    public void ARunDirectoryLinkLeadingOutOfItIsRefused()
    {
        var run = models.NewPath("run");
        Directory.CreateDirectory(run);
        File.CreateSymbolicLink(Path.Combine(run, "checkpoint_best"), Path.GetFullPath(models.Ar));

        var error = Assert.Throws<NatEmException>(() => ModelStore.Resolve(run));
        Assert.Equal(ExitCodes.BadModel, error.ExitCode);
        Assert.Contains("outside its directory", error.Message);
    }

    [Fact]
    public void ADataManifestSplitNameThatClimbsOutIsBadInput()
    {
        using var scratch = new TempDirectory();
        var dir = Path.Combine(scratch.Path, "data");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(models.Data.Directory)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        // The split's files exist where the crafted name points, so only the name check can refuse it.
        foreach (var file in new[] { "src.bin", "tgt.bin", "en", "es" })
            File.Copy(Path.Combine(dir, $"test.{file}"), Path.Combine(scratch.Path, $"x.{file}"));
        var manifestPath = Path.Combine(dir, DataManifest.FileName);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["splits"]!.AsArray().Last()!["name"] = "../x";
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        var error = Assert.Throws<NatEmException>(() => PreparedData.Load(dir));
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.StartsWith($"{manifestPath}: file name '../x.src.bin' is not a plain name", error.Message);
    }
}
