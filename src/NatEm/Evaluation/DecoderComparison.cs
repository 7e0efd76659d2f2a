using System.Diagnostics;
using NatEm.Data;
using NatEm.Decoding;

namespace NatEm.Evaluation;

/// <summary>A decoder under comparison: a name, the translator and its options.</summary>
public sealed record DecoderSetup(string Name, Translator Translator, TranslationOptions Options);

/// <summary>Quality and speed of one decoder on one split, measured in the same process as the others.</summary>
public sealed record DecoderResult(string Name, double Bleu, double Chrf, int Sentences, double Seconds, long OutputTokens)
{
    public double SentencesPerSecond => Sentences / Math.Max(Seconds, 1e-9);
    public double TokensPerSecond => OutputTokens / Math.Max(Seconds, 1e-9);
}

/// <summary>Decodes a split with several decoders (after a short warm-up each) and scores them with sacreBLEU-compatible BLEU and chrF.</summary>
public static class DecoderComparison
{
    public static IReadOnlyList<DecoderResult> Run(IReadOnlyList<DecoderSetup> decoders, ParallelSplit split, int warmupSentences = 8)
    {
        var results = new List<DecoderResult>();
        foreach (var decoder in decoders)
        {
            decoder.Translator.TranslateIds(split.Source.Take(warmupSentences).ToList(), decoder.Options);
            var watch = Stopwatch.StartNew();
            var translations = decoder.Translator.TranslateIds(split.Source, decoder.Options);
            var seconds = watch.Elapsed.TotalSeconds;
            var hypotheses = translations.Select(t => t.Text).ToList();
            results.Add(new DecoderResult(decoder.Name,
                new Bleu().CorpusScore(hypotheses, split.TargetText).Score,
                new Chrf().CorpusScore(hypotheses, split.TargetText).Score,
                split.Count, seconds, translations.Sum(t => (long)t.Tokens.Length)));
        }
        return results;
    }
}
