using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using NatEm.Tests.Cli;
using NatEm.Tests.Shipped;
using YamlDotNet.RepresentationModel;

namespace NatEm.Tests.Em;

/// <summary>
/// The templates in deploy/, rendered for 3 shards of `train-nar --distill-from`'s distillation, and the commands
/// each would have its engine run, run here in three processes: the shards must fill the run's distill folder with
/// the parts one process writes, byte for byte.
/// </summary>
// The engines' commands are sh scripts, and `natem` on their PATH is one: POSIX only.
[Collection(TinyModelsCollection.Name), UnsupportedOSPlatform("windows")]
public sealed class DeployTemplateTests(TinyModels models) : IDisposable
{
    private const int Shards = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly string bin = Directory.CreateTempSubdirectory("natem-bin").FullName;

    /// <summary>The run's own command line (without `natem`): 120 sources in parts of 16, 8 parts.</summary>
    private string[] TrainNar(string run) =>
        ["train-nar", "--data", models.Data.Directory, "--out", run, "--distill-from", models.Ar, "--distill-beam", "2", "--chunk-size", "16", "--preset", "tiny",
         "--max-updates", "2", "--threads", "1"];

    /// <summary>The parts one process writes: the same command as the shard of 0/1.</summary>
    private string OneProcess()
    {
        var run = models.NewPath("one");
        var (exitCode, _, errors) = CliProcess.Run(CliProcess.StartInfo([.. TrainNar(run), "--shard", "0/1"]), Patience);
        Assert.True(exitCode == 0, errors);
        return Path.Combine(run, "distill");
    }

    private static void AssertSameParts(string expected, string actual)
    {
        string[] Parts(string folder) => [.. Directory.GetFiles(folder, "part_*.bin").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(8, Parts(expected).Length);
        Assert.Equal(Parts(expected), Parts(actual));
        foreach (var part in Parts(expected))
            Assert.True(File.ReadAllBytes(Path.Combine(expected, part)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, part))), part);
    }

    /// <summary>A process of the template's engine: <paramref name="file"/> with `natem` on the PATH meaning the natem built beside the tests.</summary>
    private ProcessStartInfo Engine(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var natem = Path.Combine(bin, "natem");
        if (!File.Exists(natem))
        {
            File.WriteAllText(natem, $"#!/bin/sh\nexec '{Path.Combine(AppContext.BaseDirectory, "NatEm.Cli")}' \"$@\"\n");
            File.SetUnixFileMode(natem, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}";
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return info;
    }

    /// <summary>Runs the processes at once, as the engine would, and requires each to succeed.</summary>
    private static void RunTogether(IReadOnlyList<ProcessStartInfo> processes)
    {
        var results = processes.AsParallel().WithDegreeOfParallelism(processes.Count).Select(p => CliProcess.Run(p, Patience)).ToList();
        foreach (var (exitCode, output, errors) in results) Assert.True(exitCode == 0, $"exit {exitCode}: {output}\n{errors}");
    }

    /// <summary>envsubst with a list of names: ${NAME} of those names replaced, every other $ left alone.</summary>
    private static string Render(string template, IReadOnlyDictionary<string, string> values)
    {
        foreach (var (name, value) in values) template = template.Replace("${" + name + "}", value);
        return template;
    }

    private static YamlNode At(YamlNode node, params object[] path) =>
        path.Aggregate(node, (n, step) => step is int i ? ((YamlSequenceNode)n).Children[i] : ((YamlMappingNode)n).Children[new YamlScalarNode((string)step)]);

    private static string Scalar(YamlNode node, params object[] path) => ((YamlScalarNode)At(node, path)).Value!;

    [Fact]
    public void TheKubernetesIndexedJobRunsShardIOfNFromItsCompletionIndex()
    {
        var run = models.NewPath("k8s");
        var values = new Dictionary<string, string>
        {
            ["JOB"] = "natem-distill", ["SHARDS"] = $"{Shards}", ["CPUS"] = "1", ["IMAGE"] = "natem:test", ["CLAIM"] = "natem-shared", ["NATEM_ARGS"] = string.Join(' ', TrainNar(run)),
        };
        var rendered = Render(File.ReadAllText(ShippedModelTests.RepositoryPath("deploy/kubernetes/shard-job.yaml")), values);
        Assert.DoesNotContain("${", rendered);

        var stream = new YamlStream();
        stream.Load(new StringReader(rendered));
        var job = Assert.Single(stream.Documents).RootNode;
        Assert.Equal(("batch/v1", "Job", "natem-distill"), (Scalar(job, "apiVersion"), Scalar(job, "kind"), Scalar(job, "metadata", "name")));
        Assert.Equal(("Indexed", "3", "3"), (Scalar(job, "spec", "completionMode"), Scalar(job, "spec", "completions"), Scalar(job, "spec", "parallelism")));
        var pod = At(job, "spec", "template", "spec");
        Assert.Equal("Never", Scalar(pod, "restartPolicy"));
        var container = At(pod, "containers", 0);
        Assert.Equal("natem:test", Scalar(container, "image"));
        Assert.Equal(("shared", "/shared"), (Scalar(container, "volumeMounts", 0, "name"), Scalar(container, "volumeMounts", 0, "mountPath")));
        Assert.Equal(("shared", "natem-shared"), (Scalar(pod, "volumes", 0, "name"), Scalar(pod, "volumes", 0, "persistentVolumeClaim", "claimName")));
        var command = ((YamlSequenceNode)At(container, "command")).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        var environment = ((YamlSequenceNode)At(container, "env")).Children.ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"));

        // Kubernetes sets JOB_COMPLETION_INDEX to 0 … completions − 1, one pod each.
        RunTogether([.. Enumerable.Range(0, Shards).Select(i => Engine(command[0], command.Skip(1), new Dictionary<string, string>(environment) { ["JOB_COMPLETION_INDEX"] = $"{i}" }))]);

        AssertSameParts(OneProcess(), Path.Combine(run, "distill"));
    }

    [Fact]
    public void TheSlurmArrayRunsShardIOfNFromItsArrayTaskId()
    {
        var run = models.NewPath("slurm");
        var template = File.ReadAllText(ShippedModelTests.RepositoryPath("deploy/slurm/shard.sbatch"));
        Assert.Contains("\n#SBATCH --array=0-15\n", template);
        // What `sbatch --array=0-2` does: its array replaces the script's, tasks 0, 1 and 2 with SLURM_ARRAY_TASK_COUNT 3.
        var script = Path.Combine(bin, "shard.sbatch");
        File.WriteAllText(script, Regex.Replace(template, @"^#SBATCH --array=.*$", $"#SBATCH --array=0-{Shards - 1}", RegexOptions.Multiline));
        var array = Regex.Match(File.ReadAllText(script), @"^#SBATCH --array=(\d+)-(\d+)$", RegexOptions.Multiline);
        var tasks = Enumerable.Range(int.Parse(array.Groups[1].Value), int.Parse(array.Groups[2].Value) - int.Parse(array.Groups[1].Value) + 1).ToList();
        Assert.Equal([0, 1, 2], tasks);

        RunTogether([.. tasks.Select(task => Engine("bash", [script, .. TrainNar(run)], new Dictionary<string, string>
        {
            ["SLURM_ARRAY_TASK_ID"] = $"{task}", ["SLURM_ARRAY_TASK_COUNT"] = $"{tasks.Count}", ["SLURM_CPUS_PER_TASK"] = "1",
        }))]);

        AssertSameParts(OneProcess(), Path.Combine(run, "distill"));
    }

    [Fact]
    public void TheXargsLineRunsTheNShardsInNProcessesAndThePlainRunThenTrainsOnTheirParts()
    {
        var run = models.NewPath("xargs");
        var script = ShippedModelTests.RepositoryPath("deploy/local/shards.sh");

        RunTogether([Engine("sh", [script, $"{Shards}", .. TrainNar(run)], new Dictionary<string, string>())]);

        var distill = Path.Combine(run, "distill");
        AssertSameParts(OneProcess(), distill);
        var written = Directory.GetFiles(distill, "part_*.bin").ToDictionary(p => p, File.GetLastWriteTimeUtc);
        var (exitCode, _, errors) = CliProcess.Run(CliProcess.StartInfo(TrainNar(run)), Patience);
        Assert.True(exitCode == 0, errors);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint_last", "weights.bin")));
        foreach (var (part, time) in written) Assert.Equal(time, File.GetLastWriteTimeUtc(part));
    }

    public void Dispose() => Directory.Delete(bin, recursive: true);
}
