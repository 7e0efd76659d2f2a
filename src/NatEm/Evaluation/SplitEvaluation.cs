using NatEm.Data;
using NatEm.Decoding;

namespace NatEm.Evaluation;

/// <summary>
/// One model decoded on one prepared split: sacreBLEU-compatible BLEU and chrF, speed (output tokens per second)
/// and, for NAR models (whose generators give raw tokens), the two diagnostics behind most NAR errors, null for AR
/// models: <see cref="RepetitionRate"/>, the share of adjacent equal tokens in <see cref="Generation.RawTokens"/>,
/// and <see cref="LengthAccuracy"/>, the share of sentences whose <see cref="Generation.PredictedLength"/> is the reference length.
/// For a length model, repetition is counted in the raw argmax before de-duplication, and the length is the one its classifier predicted.
/// For a CTC model, repetition is counted in the output after collapse (frame repeats are merged, "a _ a" repeats are printed), and the length is that output's.
/// </summary>
public sealed record SplitEvaluationResult(
    string Model, string Split, double Bleu, double Chrf, int Sentences, double Seconds,
    double SentencesPerSecond, double TargetTokensPerSecond, double? RepetitionRate, double? LengthAccuracy);

public static class SplitEvaluation
{
    /// <summary>
    /// Decodes the split's token ids with <paramref name="translator"/>; returns the scores, under the name
    /// <paramref name="model"/>, and the translations in split order.
    /// </summary>
    public static (SplitEvaluationResult Result, Translation[] Translations) Run(string model, Translator translator, ParallelSplit split)
    {
        var (translations, seconds) = DecodingBenchmark.DecodeOnce(translator, split);
        var (bleu, chrf) = DecodingBenchmark.Score(translations, split);
        long targetTokens = translations.Sum(t => (long)t.Tokens.Length);
        bool diagnosed = translator.Generator.GivesRawTokens;
        var result = new SplitEvaluationResult(model, split.Name, bleu, chrf, split.Count,
            seconds, split.Count / seconds, targetTokens / seconds,
            // Empty sources are not decoded; their empty output counts as length 0.
            diagnosed ? OutputStatistics.RepetitionRate(translations.Select(t => t.RawTokens ?? [])) : null,
            diagnosed ? OutputStatistics.LengthAccuracy(translations.Select(t => t.PredictedLength ?? 0).ToList(), split.Target.Select(t => t.Length).ToList()) : null);
        return (result, translations);
    }
}
