using System.CommandLine;
using System.Globalization;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Em;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Text;

namespace NatEm.Cli.Commands;

/// <summary>`natem score-nar`: log p_NAR(y|x) of given candidate translations, the score the EM selection step maximizes.</summary>
public static class ScoreNarCommand
{
    public static Command Create()
    {
        var model = SharedOptions.Model();
        var sources = new Option<string>("--src") { Description = "Source sentences, one per line (UTF-8)", Required = true };
        var candidates = new Option<string>("--candidates") { Description = "Candidate translations: N consecutive lines per source line (UTF-8)", Required = true };
        var nBest = new Option<int>("--nbest") { Description = "Candidates per source line (N)", DefaultValueFactory = _ => 1 };
        var criterion = EnumOptions.Create<SelectionScore>("--selection-score", SharedOptions.SelectionScoreDescription, SelectionScore.Total);
        var command = new Command("score-nar", "Print log p_NAR(y|x) (length + tokens; CTC: summed over alignments, -Infinity when none fits) of each candidate line, tab-separated after its 0-based line index")
            { model, sources, candidates, nBest, criterion };

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var modelDir = ModelArguments.Resolve(p, p.GetValue(model)!);
            int n = p.GetValue(nBest);
            if (n < 1) throw new NatEmException("--nbest must be at least 1", ExitCodes.Usage);
            // Checked before reading the candidates: a model of the other kind is a model mismatch like any other.
            ModelStore.ReadManifest(modelDir, ModelKind.NonAutoregressive);
            var sourcePath = p.GetValue(sources)!;
            var candidatePath = p.GetValue(candidates)!;
            var sourceLines = ReadLines(sourcePath);
            var candidateLines = ReadLines(candidatePath);
            if (candidateLines.Count != n * sourceLines.Count)
                throw NatEmException.In(candidatePath,
                    $"has {candidateLines.Count} lines but {sourcePath} has {sourceLines.Count} lines and --nbest is {n}, so {n * sourceLines.Count} candidate lines are expected", ExitCodes.BadInput);

            var (loaded, nar) = ModelStore.LoadNar(modelDir);
            int[] Encode(string line) => loaded.Tokenizer.Encode(TextNormalizer.Normalize(line));
            var encodedSources = CheckLengths(sourcePath, sourceLines.Select(Encode).ToList(), nar.MaxSourceTokens);
            var encodedCandidates = CheckLengths(candidatePath, candidateLines.Select(Encode).ToList(), nar.MaxTargetTokens);
            var scores = SequenceScoring.NarLogLikelihood(nar, candidateLines.Select((_, i) => encodedSources[i / n]).ToList(), encodedCandidates);
            var score = p.GetValue(criterion)!.Value;   // never null: the option has a default
            for (int i = 0; i < scores.Length; i++)
                p.InvocationConfiguration.Output.WriteLine($"{i}\t{EmSelection.Comparable(scores[i], encodedCandidates[i].Length, score).ToString("R", CultureInfo.InvariantCulture)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Rejects the first line longer than the model takes: scoring a clipped line would give a wrong score silently.</summary>
    private static List<int[]> CheckLengths(string path, List<int[]> lines, int maxTokens)
    {
        int tooLong = lines.FindIndex(ids => ids.Length > maxTokens);
        if (tooLong >= 0)
            throw NatEmException.At(path, tooLong + 1, $"has {lines[tooLong].Length} subword tokens; this model takes at most {maxTokens}");
        return lines;
    }

    private static List<string> ReadLines(string path)
    {
        using var reader = Utf8LineReader.Open(path);
        return reader.ReadAllLines();
    }
}
