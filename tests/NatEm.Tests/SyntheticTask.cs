using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Text;
using NatEm.Training;

namespace NatEm.Tests;

/// <summary>
/// A tiny deterministic translation task for model tests: the target is the source reversed with every id
/// shifted by one, so a model must use attention and positions to learn it.
/// </summary>
public static class SyntheticTask
{
    public const int VocabSize = 24;

    public static ParallelExamples Pairs(int count, int seed, int minLength = 3, int maxLength = 8)
    {
        var random = new Random(seed);
        var sources = new List<int[]>();
        var targets = new List<int[]>();
        for (int i = 0; i < count; i++)
        {
            var source = Enumerable.Range(0, random.Next(minLength, maxLength + 1))
                .Select(_ => random.Next(SpecialTokens.Count, VocabSize - 1)).ToArray();
            sources.Add(source);
            targets.Add(source.Reverse().Select(id => id + 1).ToArray());
        }
        return new ParallelExamples(sources, targets);
    }

    /// <summary>Corpus BLEU of id sequences against the task's targets (ids as words, no further tokenization).</summary>
    public static double Bleu(IEnumerable<int[]> outputs, IReadOnlyList<int[]> targets)
    {
        static string Words(int[] ids) => string.Join(' ', ids);
        return new Bleu(new BleuOptions { Tokenizer = TokenizerNone.Instance }).CorpusScore(outputs.Select(Words).ToList(), targets.Select(Words).ToList()).Score;
    }

    public static TransformerConfig TinyConfig => TransformerConfig.Preset("tiny", VocabSize);

    /// <summary>Synthetic ids need no tokenizer files.</summary>
    public static ModelDirectoryContents NoTokenizer => new(new TokenizerInfo(TokenizerFiles.Bpe, VocabSize, 0, 0, []), "", new JsonObject { ["task"] = "synthetic" });

    /// <summary>
    /// A new scratch directory under this test process's own root, which is deleted when the process exits, whether
    /// or not the test that made it cleaned up after itself; roots left by processes that were killed are deleted on
    /// the next run.
    /// </summary>
    public static string TempDir()
    {
        var dir = Path.Combine(ScratchRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static readonly Lazy<string> ScratchRoot = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "natem-tests");
        Directory.CreateDirectory(parent);
        foreach (var stale in Directory.GetDirectories(parent))
        {
            // Roots are named after their process id; another live test process's root is left alone.
            if (int.TryParse(Path.GetFileName(stale).Split('-')[0], out var pid) && IsRunning(pid)) continue;
            try { Directory.Delete(stale, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        var root = Path.Combine(parent, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return root;
    });

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
