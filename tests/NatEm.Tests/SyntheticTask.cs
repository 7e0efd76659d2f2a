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

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "natem-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
